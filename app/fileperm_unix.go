//go:build !windows

package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ownedPrivately checks that fi belongs to this process's user and that
// none of the permission bits in forbidden are set.
func ownedPrivately(fi fs.FileInfo, forbidden fs.FileMode) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.New("has no owner information")
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("belongs to user id %d, not to you (%d)", st.Uid, uid)
	}
	if m := fi.Mode().Perm() & forbidden; m != 0 {
		return fmt.Errorf("has mode %#o: others may %s it", fi.Mode().Perm(), accessWord(m))
	}
	return nil
}

func accessWord(m fs.FileMode) string {
	if m&0o022 != 0 {
		return "change"
	}
	return "read"
}
