package store

import (
	"strconv"
	"strings"
	"sync"
)

// rebindCache keeps the rewritten form of each query text; the store's
// queries are a fixed set of constants.
var rebindCache sync.Map // string -> string

// rebindDollar rewrites the '?' placeholders of q as PostgreSQL's $1, $2,
// ... in order. A '?' inside a string constant ('...', E'...' with
// backslash escapes), a quoted identifier ("..."), a dollar-quoted string
// ($tag$...$tag$) or a comment (-- to the end of the line, nested /* */)
// is left alone. An unterminated quote or comment runs to the end of q.
func rebindDollar(q string) string {
	if v, ok := rebindCache.Load(q); ok {
		return v.(string)
	}
	out := rebind(q)
	rebindCache.Store(q, out)
	return out
}

func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
			continue
		case c == '\'':
			escapes := i > 0 && (q[i-1] == 'E' || q[i-1] == 'e') && (i < 2 || !identChar(q[i-2]))
			end := quotedEnd(q, i, '\'', escapes)
			b.WriteString(q[i:end])
			i = end
			continue
		case c == '"':
			end := quotedEnd(q, i, '"', false)
			b.WriteString(q[i:end])
			i = end
			continue
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q)
			} else {
				end += i + 1
			}
			b.WriteString(q[i:end])
			i = end
			continue
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			end := commentEnd(q, i)
			b.WriteString(q[i:end])
			i = end
			continue
		case c == '$' && (i == 0 || !identChar(q[i-1])):
			if tag, ok := dollarTag(q, i); ok {
				end := len(q)
				if j := strings.Index(q[i+len(tag):], tag); j >= 0 {
					end = i + len(tag) + j + len(tag)
				}
				b.WriteString(q[i:end])
				i = end
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// quotedEnd returns the index just past the quote that closes the one at
// q[start]; a doubled quote stands for itself, and with escapes a
// backslash escapes the next byte.
func quotedEnd(q string, start int, quote byte, escapes bool) int {
	for i := start + 1; i < len(q); i++ {
		switch q[i] {
		case '\\':
			if escapes {
				i++
			}
		case quote:
			if i+1 < len(q) && q[i+1] == quote {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(q)
}

// commentEnd returns the index just past the end of the (nested) block
// comment that starts at q[start].
func commentEnd(q string, start int) int {
	depth := 0
	for i := start; i+1 < len(q); i++ {
		switch {
		case q[i] == '/' && q[i+1] == '*':
			depth++
			i++
		case q[i] == '*' && q[i+1] == '/':
			depth--
			i++
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(q)
}

// dollarTag reads the opening tag ($$ or $name$) of a dollar-quoted string
// at q[start]; $1 (a parameter) is none.
func dollarTag(q string, start int) (string, bool) {
	i := start + 1
	for i < len(q) && identChar(q[i]) {
		if i == start+1 && q[i] >= '0' && q[i] <= '9' {
			return "", false
		}
		i++
	}
	if i < len(q) && q[i] == '$' {
		return q[start : i+1], true
	}
	return "", false
}

func identChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
