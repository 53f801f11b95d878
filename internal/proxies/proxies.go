// Package proxies decides which reverse proxies coexhistory believes (COEX_TRUSTED_PROXIES):
// only a request that arrives from one of them may name the client's address
// (X-Forwarded-For) and the scheme the client used (X-Forwarded-Proto). Anything else is
// read from the connection itself, so a client cannot claim another address or HTTPS.
package proxies

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Trusted is the set of proxy networks. The zero value trusts nobody.
type Trusted struct {
	prefixes []netip.Prefix
}

// Parse reads a list of CIDRs or single addresses separated by commas or spaces, e.g.
// "10.0.0.0/8, 192.0.2.10, fd00::/8". An empty list trusts nobody.
func Parse(list string) (*Trusted, error) {
	t := &Trusted{}
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(f)
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		t.prefixes = append(t.prefixes, p.Masked())
	}
	return t, nil
}

// Empty reports whether no proxy is trusted.
func (t *Trusted) Empty() bool { return t == nil || len(t.prefixes) == 0 }

// String lists the trusted networks.
func (t *Trusted) String() string {
	if t == nil {
		return ""
	}
	s := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func (t *Trusted) trusts(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the address the connection comes from.
func peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(strings.Trim(host, "[]"))
	return a.Unmap()
}

func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// FromTrusted reports whether the request's connection comes from a trusted proxy.
func (t *Trusted) FromTrusted(r *http.Request) bool { return t.trusts(peer(r)) }

// ClientIP is the client's address: the connection's peer, or, when that peer is a trusted
// proxy, the rightmost X-Forwarded-For hop that is not itself a trusted proxy (hops to its
// left were written by the client and prove nothing).
func (t *Trusted) ClientIP(r *http.Request) string {
	direct := peer(r)
	if !t.trusts(direct) {
		if !direct.IsValid() {
			return r.RemoteAddr
		}
		return direct.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	last := direct
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// A trusted proxy passed on something that is no address: stop at the hop that
			// sent it.
			return last.String()
		}
		if !t.trusts(a) {
			return a.String()
		}
		last = a
	}
	return last.String()
}

// IsHTTPS reports whether the client used HTTPS: TLS on this connection, or
// X-Forwarded-Proto: https set by a trusted proxy (the rightmost value, which the proxy
// nearest to us wrote).
func (t *Trusted) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !t.FromTrusted(r) {
		return false
	}
	vals := r.Header.Values("X-Forwarded-Proto")
	if len(vals) == 0 {
		return false
	}
	parts := strings.Split(vals[len(vals)-1], ",")
	return strings.EqualFold(strings.TrimSpace(parts[len(parts)-1]), "https")
}
