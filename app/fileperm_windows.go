//go:build windows

package app

import "io/fs"

// ownedPrivately: Windows files carry ACLs, not Unix modes; the user's
// profile directory is private by default.
func ownedPrivately(fs.FileInfo, fs.FileMode) error { return nil }
