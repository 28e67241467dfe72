package adminapi

import (
	"net/url"
	"strings"
)

// mask stands in for every secret Redact removes (the same mask as
// url.URL.Redacted uses for a password).
const mask = "xxxxx"

// Redact returns rawURL fit to be shown: the password of its userinfo, every
// query value (a signature, a token, a DSN's password=) and any fragment
// replaced by "xxxxx"; scheme, user, host, port and path are kept. It
// takes URLs and URL-shaped connection strings alike
// (postgres://user:pw@host/db?password=x&sslmode=disable becomes
// postgres://user:xxxxx@host/db?password=xxxxx&sslmode=xxxxx), and
// keyword/value connection strings (host=db password=x becomes
// host=db password=xxxxx). Text it cannot read as either keeps only what
// comes before any '@', '?' or '#' that could start a secret.
func Redact(rawURL string) string {
	s := strings.TrimSpace(rawURL)
	if s == "" {
		return s
	}
	if !strings.Contains(s, "://") && strings.Contains(s, "=") && !strings.ContainsAny(s, "/?#@") {
		return redactKeywords(s)
	}
	if u, err := url.Parse(s); err == nil && (u.Scheme != "" || u.Host != "") && u.Opaque == "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), mask)
		}
		q := redactQuery(u.RawQuery)
		u.RawQuery, u.ForceQuery = "", false
		u.Fragment, u.RawFragment = "", ""
		out := u.String()
		// The query is kept in its own order, not url.Values' sorted one.
		if q != "" || strings.Contains(s, "?") {
			out += "?" + q
		}
		if strings.Contains(s, "#") {
			out += "#" + mask
		}
		return out
	}
	return redactByHand(s)
}

// redactQuery masks the value of every key=value pair of a raw query, in
// its order; a pair without '=' may itself be the secret, so it is masked
// whole.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		if p == "" {
			continue
		}
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + mask
		} else {
			parts[i] = mask
		}
	}
	return strings.Join(parts, "&")
}

// redactByHand handles what url.Parse refuses (a bad port, a stray '%'):
// scheme://user:password@host/path?query#fragment read without checks.
func redactByHand(s string) string {
	var frag bool
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, frag = s[:i], true
	}
	query, hasQuery := "", false
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, query, hasQuery = s[:i], s[i+1:], true
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		scheme, rest = "", s
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo, host := authority[:at], authority[at+1:]
		if user, _, hasPassword := strings.Cut(userinfo, ":"); hasPassword {
			userinfo = user + ":" + mask
		}
		authority = userinfo + "@" + host
	}
	out := authority + path
	if ok {
		out = scheme + "://" + out
	}
	if hasQuery {
		out += "?" + redactQuery(query)
	}
	if frag {
		out += "#" + mask
	}
	return out
}

// redactKeywords masks the password of a keyword/value connection string
// (libpq's "host=db user=u password=secret"), quoted or not.
func redactKeywords(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ' ' {
			j++
		}
		key := strings.TrimSpace(s[i:j])
		if j >= len(s) || s[j] != '=' {
			b.WriteString(s[i:j])
			if j < len(s) {
				b.WriteByte(s[j])
			}
			i = j + 1
			continue
		}
		// The value: quoted with '...' (backslash escapes) or up to a space.
		k := j + 1
		if k < len(s) && s[k] == '\'' {
			k++
			for k < len(s) && s[k] != '\'' {
				if s[k] == '\\' {
					k++
				}
				k++
			}
			k = min(k+1, len(s))
		} else {
			for k < len(s) && s[k] != ' ' {
				k++
			}
		}
		b.WriteString(s[i : j+1])
		if lower := strings.ToLower(key); lower == "password" || strings.Contains(lower, "secret") || strings.Contains(lower, "token") {
			b.WriteString(mask)
		} else {
			b.WriteString(s[j+1 : k])
		}
		i = k
	}
	return b.String()
}
