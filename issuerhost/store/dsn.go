package store

import (
	"net/url"
	"strings"
)

// redacted stands for a masked password.
const redacted = "xxxxx"

// secretKeys are the connection settings that hold secrets.
var secretKeys = map[string]bool{"password": true, "sslpassword": true}

// RedactDSN returns the PostgreSQL connection string dsn with its
// passwords masked: the password of a URL's user information, and the
// password and sslpassword settings of a URL's query or of keyword=value
// settings. Anything else is left as it was, so that the result still
// says where the database is.
func RedactDSN(dsn string) string {
	out, _ := redactDSN(dsn)
	return out
}

// dsnSecrets returns the passwords in dsn, as written and unescaped.
func dsnSecrets(dsn string) []string {
	_, secrets := redactDSN(dsn)
	return secrets
}

func redactDSN(dsn string) (string, []string) {
	lower := strings.ToLower(dsn)
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if strings.HasPrefix(lower, scheme) {
			return redactURL(dsn, len(scheme))
		}
	}
	return redactKV(dsn)
}

// redactURL masks the secrets of a URL whose authority starts at
// dsn[start]. It does not need the URL to be valid (several hosts, for
// one, are not valid in a Go URL).
func redactURL(dsn string, start int) (string, []string) {
	var secrets []string
	add := func(raw string) {
		if raw == "" {
			return
		}
		secrets = append(secrets, raw)
		if u, err := url.PathUnescape(raw); err == nil && u != raw {
			secrets = append(secrets, u)
		}
		if u, err := url.QueryUnescape(raw); err == nil && u != raw {
			secrets = append(secrets, u)
		}
	}
	rest := dsn[start:]
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	auth, tail := rest[:authEnd], rest[authEnd:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		userinfo := auth[:at]
		if colon := strings.IndexByte(userinfo, ':'); colon >= 0 {
			add(userinfo[colon+1:])
			auth = userinfo[:colon+1] + redacted + auth[at:]
		}
	}
	var b strings.Builder
	b.WriteString(dsn[:start])
	b.WriteString(auth)
	q := strings.IndexByte(tail, '?')
	if q < 0 {
		b.WriteString(tail)
		return b.String(), secrets
	}
	b.WriteString(tail[:q+1])
	query, frag := tail[q+1:], ""
	if h := strings.IndexByte(query, '#'); h >= 0 {
		query, frag = query[:h], query[h:]
	}
	for i, part := range strings.Split(query, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, v, hasValue := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		if hasValue && secretKeys[strings.ToLower(strings.TrimSpace(key))] {
			add(v)
			b.WriteString(k + "=" + redacted)
			continue
		}
		b.WriteString(part)
	}
	b.WriteString(frag)
	return b.String(), secrets
}

// kvPair is one setting of a keyword=value connection string, with where
// its value is in the string.
type kvPair struct {
	key, value string
	start, end int  // the value as written: s[start:end]
	ok         bool // a well-formed key = value
}

// kvSplit reads keyword=value settings as libpq does: whitespace between
// settings and around '=', values in single quotes or bare, a backslash
// escaping the next character. It never fails: what it cannot read ends
// the list with a pair that is not ok.
func kvSplit(s string) []kvPair {
	var out []kvPair
	i := 0
	space := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v') {
			i++
		}
	}
	for {
		space()
		if i >= len(s) {
			return out
		}
		k := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
			i++
		}
		p := kvPair{key: strings.ToLower(s[k:i])}
		space()
		if i >= len(s) || s[i] != '=' || p.key == "" {
			p.start, p.end = i, len(s)
			return append(out, p)
		}
		i++
		space()
		p.start = i
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) {
				c := s[i]
				if c == '\\' && i+1 < len(s) {
					v.WriteByte(s[i+1])
					i += 2
					continue
				}
				i++
				if c == '\'' {
					closed = true
					break
				}
				v.WriteByte(c)
			}
			p.ok = closed
		} else {
			for i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v' {
				if s[i] == '\\' && i+1 < len(s) {
					v.WriteByte(s[i+1])
					i += 2
					continue
				}
				v.WriteByte(s[i])
				i++
			}
			p.ok = true
		}
		p.value, p.end = v.String(), i
		out = append(out, p)
		if !p.ok {
			return out
		}
	}
}

// redactKV masks the secrets of keyword=value settings. Should the string
// not read as settings, everything after the first password keyword is
// masked.
func redactKV(dsn string) (string, []string) {
	var secrets []string
	var b strings.Builder
	last := 0
	for _, p := range kvSplit(dsn) {
		if !p.ok {
			if secretKeys[p.key] || strings.Contains(strings.ToLower(dsn[p.start:]), "password") {
				b.WriteString(dsn[last:p.start])
				b.WriteString(redacted)
				secrets = append(secrets, strings.TrimSpace(dsn[p.start:]))
				last = len(dsn)
			}
			break
		}
		if secretKeys[p.key] {
			b.WriteString(dsn[last:p.start])
			b.WriteString(redacted)
			last = p.end
			if p.value != "" {
				secrets = append(secrets, p.value, dsn[p.start:p.end])
			}
		}
	}
	b.WriteString(dsn[last:])
	return b.String(), secrets
}
