package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// createSchema creates the schema that the connection's search_path names
// first (skipping "$user"), when the URL sets a search_path and no such
// schema exists: without it, a fresh database fails every migration with
// "no schema has been selected to create in". migrate calls it holding the
// migrations' advisory lock, so replicas starting together create it once.
// An existing schema is left alone without asking for the CREATE privilege
// on the database, which a role given a schema made for it need not have.
func createSchema(ctx context.Context, tx pgx.Tx, runtimeParams map[string]string) error {
	name := firstSchema(runtimeParams["search_path"])
	if name == "" {
		return nil
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look up schema %q of search_path: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			return fmt.Errorf("create schema %q named by search_path: %w; create it first (CREATE SCHEMA %s AUTHORIZATION <role>) or grant the role CREATE on the database",
				name, err, pgx.Identifier{name}.Sanitize())
		}
		return fmt.Errorf("create schema %q named by search_path: %w", name, err)
	}
	return nil
}

// unusableSchema names the schema of search_path in the server's "no
// schema has been selected to create in" (3F000), which it answers when
// that schema exists but the role may not use it (no USAGE on it), so
// the operator learns which schema and what to grant (audit AS, AS3);
// any other error is returned as it is.
func unusableSchema(err error, runtimeParams map[string]string) error {
	var pgErr *pgconn.PgError
	name := firstSchema(runtimeParams["search_path"])
	if name == "" || !errors.As(err, &pgErr) || pgErr.Code != "3F000" {
		return err
	}
	return fmt.Errorf("schema %q named by search_path exists but this role cannot use it: %w; grant it (GRANT USAGE, CREATE ON SCHEMA %s TO <role>) or name another schema",
		name, err, pgx.Identifier{name}.Sanitize())
}

// firstSchema returns the first schema named by a search_path value, as
// the server reads it (a comma-separated list of identifiers, unquoted ones
// folded to lower case, "" in a quoted one standing for "), skipping
// "$user" and the system schemas (pg_catalog, pg_temp), which are never
// created. It returns "" when there is none or the value does not parse,
// leaving the server to report it.
func firstSchema(searchPath string) string {
	s := searchPath
	for {
		s = strings.TrimLeft(s, " \t\n\r\f\v")
		if s == "" {
			return ""
		}
		var name string
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for {
				j := strings.IndexByte(s[i:], '"')
				if j < 0 {
					return "" // unterminated quote
				}
				b.WriteString(s[i : i+j])
				i += j + 1
				if i < len(s) && s[i] == '"' { // "" stands for "
					b.WriteByte('"')
					i++
					continue
				}
				break
			}
			name, s = b.String(), s[i:]
			if name == "" {
				return "" // the server refuses a zero-length identifier
			}
		} else {
			end := strings.IndexAny(s, ", \t\n\r\f\v")
			if end < 0 {
				end = len(s)
			}
			name, s = asciiLower(s[:end]), s[end:]
			if name == "" {
				return "" // an empty entry
			}
		}
		s = strings.TrimLeft(s, " \t\n\r\f\v")
		if s != "" {
			if s[0] != ',' {
				return "" // junk after an identifier
			}
			s = s[1:]
		}
		if name != "$user" && !strings.HasPrefix(name, "pg_") {
			return name
		}
		if s == "" {
			return ""
		}
	}
}

// asciiLower folds A-Z to a-z, as the server folds an unquoted identifier
// (other bytes are left as they are).
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
