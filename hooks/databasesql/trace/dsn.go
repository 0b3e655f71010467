package trace

import (
	"database/sql/driver"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
)

// dbInfo is what the tags of every span on one DB say about the database:
// learnt once, from the driver and the DSN given to sql.Open.
type dbInfo struct {
	component   string // lib/pq, pgx, go-sql-driver/mysql, modernc.org/sqlite...
	peerService string // postgresql, mysql, sqlite
	instance    string // the database name (a file for SQLite)
	user        string
	peerAddress string // host:port, or a Unix socket's path
	// password is kept only to blank it out of error messages, in case a
	// driver repeats its DSN in one; it is never a tag.
	password string
}

// scrub removes the DSN's password from msg.
func (d *dbInfo) scrub(msg string) string {
	// A very short password would blank out ordinary letters of messages;
	// it is also not worth hiding.
	if len(d.password) >= 4 {
		msg = strings.ReplaceAll(msg, d.password, "[redacted]")
	}
	return msg
}

// The driver families whose DSNs are understood.
const (
	postgres = "postgresql"
	mysql    = "mysql"
	sqlite   = "sqlite"
)

// driverKind names a driver by the package of its type, which does not
// depend on the name it was registered under.
func driverKind(d driver.Driver) (component, family string) {
	t := reflect.TypeOf(d)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "", ""
	}
	pkg := t.PkgPath()
	switch {
	case pkg == "github.com/lib/pq":
		return "lib/pq", postgres
	case strings.HasPrefix(pkg, "github.com/jackc/pgx"):
		return "pgx", postgres
	case pkg == "github.com/go-sql-driver/mysql":
		return "go-sql-driver/mysql", mysql
	case pkg == "modernc.org/sqlite":
		return "modernc.org/sqlite", sqlite
	case pkg == "github.com/mattn/go-sqlite3":
		return "mattn/go-sqlite3", sqlite
	case strings.HasPrefix(pkg, "github.com/ncruces/go-sqlite3"):
		return "ncruces/go-sqlite3", sqlite
	}
	return pkg, ""
}

// familyByName guesses a driver's family from the name it was registered
// under, for drivers not known by package.
func familyByName(name string) string {
	name = strings.ToLower(name)
	switch {
	case strings.Contains(name, "postgres"), strings.HasPrefix(name, "pgx"), name == "pq":
		return postgres
	case strings.Contains(name, "mysql"), strings.Contains(name, "mariadb"):
		return mysql
	case strings.Contains(name, "sqlite"):
		return sqlite
	}
	return ""
}

// describe learns what it can from a DB opened with sql.Open.
func describe(driverName, dsn string, d driver.Driver) *dbInfo {
	info := &dbInfo{}
	var family string
	info.component, family = driverKind(d)
	if info.component == "" {
		info.component = driverName
	}
	if family == "" {
		family = familyByName(driverName)
	}
	info.peerService = family
	switch family {
	case postgres:
		parsePostgres(info, dsn)
	case mysql:
		parseMySQL(info, dsn)
	case sqlite:
		parseSQLite(info, dsn)
	default:
		if strings.Contains(dsn, "://") {
			parseURL(info, dsn, "")
		} else if strings.Contains(dsn, "=") {
			parseKeyValue(info, dsn, "")
		}
	}
	return info
}

// describeConnector learns what it can from a DB opened with sql.OpenDB:
// the driver, and for a connector that keeps its settings in fields
// (pgx's keeps a pgx.ConnConfig) the host, port, database and user.
func describeConnector(connector driver.Connector) *dbInfo {
	info := &dbInfo{}
	if connector == nil {
		return info
	}
	info.component, info.peerService = driverKind(connector.Driver())
	var c config
	c.scan(reflect.ValueOf(connector), 0)
	info.instance, info.user = c.database, c.user
	if c.host != "" {
		info.peerAddress = hostPort(c.host, c.port, defaultPort(info.peerService))
	}
	return info
}

// config collects connection settings found in a driver's fields.
type config struct {
	host, port, database, user string
}

// scan looks through v's struct fields, a few levels deep, for settings
// with the usual names. It only reads strings and integers.
func (c *config) scan(v reflect.Value, depth int) {
	if depth > 3 || !v.IsValid() {
		return
	}
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		name := strings.ToLower(f.Name)
		switch fv.Kind() {
		case reflect.String:
			set := func(p *string) {
				if *p == "" {
					*p = fv.String()
				}
			}
			switch name {
			case "host", "addr":
				set(&c.host)
			case "database", "dbname":
				set(&c.database)
			case "user":
				set(&c.user)
			}
		case reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uint, reflect.Int:
			if name == "port" && c.port == "" {
				if fv.CanUint() {
					c.port = uintString(fv.Uint())
				} else if fv.Int() > 0 {
					c.port = uintString(uint64(fv.Int()))
				}
			}
		case reflect.Struct, reflect.Pointer:
			c.scan(fv, depth+1)
		}
	}
}

func uintString(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func defaultPort(family string) string {
	switch family {
	case postgres:
		return "5432"
	case mysql:
		return "3306"
	}
	return ""
}

// hostPort joins host and port, the port defaulted; a Unix socket's path
// (and a list of hosts) stays as it is.
func hostPort(host, port, def string) string {
	if strings.HasPrefix(host, "/") || strings.Contains(host, ",") {
		return host
	}
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if port == "" {
		port = def
	}
	if port == "" {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// parsePostgres reads a libpq connection string, URL or key=value form,
// with the PG* environment variables as defaults (as lib/pq and pgx do).
func parsePostgres(info *dbInfo, dsn string) {
	s := strings.TrimSpace(dsn)
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		parseURL(info, s, "5432")
	} else {
		parseKeyValue(info, s, "5432")
	}
	if info.peerAddress == "" {
		host := os.Getenv("PGHOST")
		if host == "" {
			host = "localhost"
		}
		info.peerAddress = hostPort(host, os.Getenv("PGPORT"), "5432")
	}
	if info.instance == "" {
		info.instance = os.Getenv("PGDATABASE")
	}
	if info.user == "" {
		info.user = os.Getenv("PGUSER")
	}
}

// parseURL reads scheme://user:password@host:port/database?options, where
// options may also name host, port, dbname and user.
func parseURL(info *dbInfo, dsn, defPort string) {
	u, err := url.Parse(dsn)
	if err != nil {
		return // an unparsable DSN tells nothing; the driver will say why
	}
	if u.User != nil {
		info.user = u.User.Username()
		info.password, _ = u.User.Password()
	}
	info.instance = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	host, port := u.Host, ""
	if h := q.Get("host"); h != "" && host == "" {
		host = h
	}
	if p := q.Get("port"); p != "" {
		port = p
	}
	if d := q.Get("dbname"); d != "" && info.instance == "" {
		info.instance = d
	}
	if user := q.Get("user"); user != "" && info.user == "" {
		info.user = user
	}
	if pw := q.Get("password"); pw != "" && info.password == "" {
		info.password = pw
	}
	if host != "" {
		info.peerAddress = hostPort(host, port, defPort)
	}
}

// parseKeyValue reads key=value pairs separated by spaces; a value may be
// single-quoted, with backslash escapes.
func parseKeyValue(info *dbInfo, dsn, defPort string) {
	var host, port string
	for key, value := range keyValues(dsn) {
		switch key {
		case "host", "hostaddr":
			if host == "" || key == "host" {
				host = value
			}
		case "port":
			port = value
		case "dbname", "database":
			info.instance = value
		case "user":
			info.user = value
		case "password":
			info.password = value
		}
	}
	if host != "" {
		info.peerAddress = hostPort(host, port, defPort)
	} else if port != "" && defPort != "" {
		info.peerAddress = hostPort("localhost", port, defPort)
	}
}

// keyValues yields the pairs of a key=value connection string.
func keyValues(s string) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		for {
			s = strings.TrimLeft(s, " \t\n\r")
			if s == "" {
				return
			}
			eq := strings.IndexByte(s, '=')
			if eq < 0 {
				return
			}
			key := strings.TrimSpace(s[:eq])
			s = strings.TrimLeft(s[eq+1:], " \t")
			var value strings.Builder
			if strings.HasPrefix(s, "'") {
				s = s[1:]
				for s != "" && s[0] != '\'' {
					if s[0] == '\\' && len(s) > 1 {
						s = s[1:]
					}
					value.WriteByte(s[0])
					s = s[1:]
				}
				s = strings.TrimPrefix(s, "'")
			} else {
				for s != "" && s[0] != ' ' && s[0] != '\t' && s[0] != '\n' && s[0] != '\r' {
					if s[0] == '\\' && len(s) > 1 {
						s = s[1:]
					}
					value.WriteByte(s[0])
					s = s[1:]
				}
			}
			if !yield(key, value.String()) {
				return
			}
		}
	}
}

// parseMySQL reads go-sql-driver/mysql's DSN:
// [user[:password]@][net[(addr)]]/dbname[?param=value&...].
func parseMySQL(info *dbInfo, dsn string) {
	// The database name follows the last slash, since the password and
	// a socket's path may contain slashes; the options follow it.
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return
	}
	prefix, rest := dsn[:slash], dsn[slash+1:]
	info.instance, _, _ = strings.Cut(rest, "?")
	if db, err := url.PathUnescape(info.instance); err == nil {
		info.instance = db
	}
	// The credentials end at the last @ before the address, since the
	// password may contain @.
	netAddr := prefix
	if at := strings.LastIndexByte(prefix, '@'); at >= 0 {
		cred := prefix[:at]
		netAddr = prefix[at+1:]
		user, password, _ := strings.Cut(cred, ":")
		info.user, info.password = user, password
	}
	network, addr := netAddr, ""
	if open := strings.IndexByte(netAddr, '('); open >= 0 && strings.HasSuffix(netAddr, ")") {
		network, addr = netAddr[:open], netAddr[open+1:len(netAddr)-1]
	}
	switch network {
	case "", "tcp", "tcp4", "tcp6":
		if addr == "" {
			addr = "127.0.0.1:3306"
		}
		info.peerAddress = hostPort(addr, "", "3306")
	case "unix":
		if addr == "" {
			addr = "/tmp/mysql.sock"
		}
		info.peerAddress = addr
	default:
		info.peerAddress = addr
	}
}

// parseSQLite takes the database file from a SQLite DSN: a path, or a
// file: URI, with options after "?".
func parseSQLite(info *dbInfo, dsn string) {
	path, _, _ := strings.Cut(dsn, "?")
	path = strings.TrimPrefix(path, "file:")
	path = strings.TrimPrefix(path, "//") // file:///abs/path
	info.instance = path
}
