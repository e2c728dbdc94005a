package app

import (
	"fmt"
	"os"
)

// checkDotEnvFile refuses a .env file that another user owns or could
// change: its variables choose where the cookies are sent (the upstream
// URLs) and who may call the gateway (CORS, Host), so a planted or
// writable one would hand them to someone else. It is called before the
// file is parsed.
func checkDotEnvFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := ownedPrivately(fi, 0o022); err != nil {
		return fmt.Errorf("refusing to read %s: it %v. A .env file sets where your cookies are sent; "+
			"make it yours and not writable by others (chown $USER %s; chmod go-w %s), or remove it", path, err, path, path)
	}
	return nil
}
