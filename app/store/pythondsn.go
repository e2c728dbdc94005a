package store

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pythonAllowedKeys are the only connection settings an import may carry
// (besides search_path, a server setting that says where the table is).
// Everything else pgx understands — servicefile, passfile, sslkey,
// sslcert, sslrootcert, service, options … — would make it read files of
// this gateway's user (and send their contents to whatever server the URL
// names), so a URL naming any of them is refused before pgx sees it.
var pythonAllowedKeys = []string{"host", "port", "dbname", "user", "password", "sslmode"}

// pythonConnectTimeout bounds the connection to a Python gateway's
// database.
const pythonConnectTimeout = 10 * time.Second

// ErrPythonDSN is a database_url that is not acceptable; its message says
// why in terms of the input only.
var ErrPythonDSN = errors.New("invalid database_url")

// ErrPythonUnreachable is any failure to connect to, log in to or read the
// Python gateway's database. It deliberately says no more: details such as
// "connection refused" or "no such file" would let a caller probe ports
// and files.
var ErrPythonUnreachable = errors.New("could not read the Python gateway's database: check host, port, dbname, user, password and sslmode")

func dsnErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrPythonDSN, fmt.Sprintf(format, a...))
}

// pythonConnConfig parses a Python gateway's DATABASE_URL
// (postgres://user:password@host:port/dbname?sslmode=…) with an allow-list
// of keys and builds a pgx configuration that reads no file: the pgx
// settings that name files are pinned to nothing (/dev/null for the
// password and service files, empty for certificates), so neither the URL
// nor this process's environment (PGPASSFILE, PGSERVICEFILE, PGSSLKEY …)
// nor the home-directory defaults (~/.pgpass, ~/.postgresql/…) can bring
// one in.
func pythonConnConfig(dsn string) (*pgx.ConnConfig, error) {
	v, err := pythonDSNValues(dsn)
	if err != nil {
		return nil, err
	}
	if err := checkPythonValues(v); err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(pythonKeywordDSN(v))
	if err != nil {
		return nil, ErrPythonUnreachable
	}
	cfg.Password = v["password"]
	cfg.ConnectTimeout = pythonConnectTimeout
	cfg.RuntimeParams = map[string]string{"application_name": "gemini-gateway import"}
	if sp := v["search_path"]; sp != "" {
		cfg.RuntimeParams["search_path"] = sp
	}
	return cfg, nil
}

// pythonDSNValues takes the URL apart into its settings (user, password,
// host, port, dbname and the query's keys), refusing any key outside the
// allow-list.
func pythonDSNValues(dsn string) (map[string]string, error) {
	dsn = strings.TrimSpace(dsn)
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil, dsnErr("want a URL such as postgres://user:password@host:5432/dbname")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, dsnErr("the URL does not parse")
	}
	if u.Fragment != "" || u.Opaque != "" {
		return nil, dsnErr("the URL has parts a database URL does not")
	}
	v := map[string]string{}
	if u.User != nil {
		v["user"] = u.User.Username()
		if p, ok := u.User.Password(); ok {
			v["password"] = p
		}
	}
	host, port := u.Hostname(), u.Port()
	if strings.Contains(u.Host, ",") {
		return nil, dsnErr("name one host")
	}
	v["host"], v["port"] = host, port
	v["dbname"] = strings.TrimPrefix(u.Path, "/")
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, dsnErr("the query string does not parse")
	}
	allowed := map[string]bool{"search_path": true}
	for _, k := range pythonAllowedKeys {
		allowed[k] = true
	}
	for k, vals := range q {
		if !allowed[k] {
			return nil, dsnErr("%q is not allowed; the URL may carry only %s", clipKey(k), strings.Join(pythonAllowedKeys, ", "))
		}
		if len(vals) != 1 {
			return nil, dsnErr("%s is given more than once", k)
		}
		v[k] = vals[0]
	}
	return v, nil
}

// checkPythonValues checks each setting's value (and fills in the default
// port).
func checkPythonValues(v map[string]string) error {
	if err := checkPythonHost(v["host"]); err != nil {
		return err
	}
	if v["port"] == "" {
		v["port"] = "5432"
	}
	if n, err := strconv.Atoi(v["port"]); err != nil || n < 1 || n > 65535 {
		return dsnErr("the port must be a number from 1 to 65535")
	}
	if sp, ok := v["search_path"]; ok {
		// A server setting (where gemini_accounts is found), not a file.
		for _, c := range sp {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ',' || c == ' ' || c == '$' || c == '"') {
				return dsnErr("search_path may name schemas only")
			}
		}
	}
	if v["user"] == "" {
		return dsnErr("name the database user (postgres://user:password@host/dbname)")
	}
	switch v["sslmode"] {
	case "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		return dsnErr("sslmode must be disable, allow, prefer, require, verify-ca or verify-full")
	}
	for k, s := range v {
		if strings.ContainsRune(s, 0) {
			return dsnErr("%s contains a NUL byte", k)
		}
	}
	return nil
}

// pythonKeywordDSN writes the checked settings as a keyword/value
// connection string, with every setting that names a file pinned to none.
func pythonKeywordDSN(v map[string]string) string {
	var b strings.Builder
	kv := func(k, val string) {
		b.WriteString(k + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(val) + "' ")
	}
	for _, k := range pythonAllowedKeys {
		if s, ok := v[k]; ok && s != "" {
			kv(k, s)
		}
	}
	if v["password"] == "" {
		// An explicit empty password still leaves pgx free to look one up in
		// the password file; /dev/null answers nothing.
		kv("password", "")
	}
	kv("passfile", "/dev/null")
	kv("servicefile", "/dev/null")
	kv("sslrootcert", "")
	kv("sslcert", "")
	kv("sslkey", "")
	kv("sslcertmode", "disable")
	kv("connect_timeout", strconv.Itoa(int(pythonConnectTimeout/time.Second)))
	return strings.TrimSpace(b.String())
}

// checkPythonHost accepts a DNS name or an IP address: no Unix socket
// paths (a file-existence probe) and no lists.
func checkPythonHost(h string) error {
	if h == "" {
		return dsnErr("name the database host (postgres://user:password@host/dbname)")
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 {
		return dsnErr("the host name is too long")
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return dsnErr("the host must be a host name or an IP address")
		}
	}
	return nil
}

func clipKey(k string) string {
	if len(k) > 32 {
		return k[:32] + "…"
	}
	return k
}
