package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"invoice-ingest/models"
)

// Resolver finds a host's addresses; *net.Resolver is one. Tests inject their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps webhook requests away from the service's own network (SSRF): unless AllowPrivate,
// a URL whose host resolves to a loopback, private, link-local (the cloud metadata address
// 169.254.169.254 among them), unspecified, multicast or otherwise non-public address is refused
// at creation, and every connection's address is checked again when it is dialed, so a host whose
// DNS answer changes after creation (DNS rebinding) is still refused.
type Guard struct {
	AllowPrivate bool
	Resolver     Resolver // nil: net.DefaultResolver
}

// errRefused marks a dial refused by the guard.
var errRefused = errors.New("address refused")

// nonPublic are the ranges netip's predicates do not cover that are not the public internet.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: may embed a private IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
}

// refusal says why a is not allowed, "" when it is.
func (g Guard) refusal(a netip.Addr) string {
	if g.AllowPrivate {
		return ""
	}
	a = a.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified():
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return "a link-local address (cloud metadata among them)"
	case a.IsPrivate():
		return "a private address"
	case a.IsMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return "a reserved address"
		}
	}
	return ""
}

func (g Guard) resolver() Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// resolve returns host's addresses (host itself when it is an IP literal).
func (g Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	return g.resolver().LookupNetIP(ctx, "ip", host)
}

// CheckURL checks a webhook URL as a client gave it: http or https, a host, no credentials, and
// every address the host resolves to allowed. Its errors are EINVALID, naming the problem.
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	bad := func(format string, args ...any) error {
		return models.Errorf(models.EINVALID, "url: "+format, args...)
	}
	if raw == "" || len(raw) > 2048 {
		return bad("required, at most 2048 bytes.")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		return bad("not an absolute URL.")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("the scheme must be http or https.")
	case u.Hostname() == "":
		return bad("a host is required.")
	case u.User != nil:
		return bad("credentials in the URL are not allowed.")
	}
	addrs, err := g.resolve(ctx, u.Hostname())
	if err != nil || len(addrs) == 0 {
		return bad("the host %s does not resolve.", u.Hostname())
	}
	for _, a := range addrs {
		if why := g.refusal(a); why != "" {
			return bad("the host %s resolves to %s, %s; webhook URLs must be public (WEBHOOK_ALLOW_PRIVATE=true allows these).",
				u.Hostname(), a.Unmap(), why)
		}
	}
	return nil
}

// dialContext is the delivery transport's dialer: it resolves the host at each dial and
// connects only to allowed addresses, and the dialer's Control checks the very address the
// socket connects to.
func (g Guard) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Control: g.control}
	var last error = fmt.Errorf("%s: no address", host)
	for _, a := range addrs {
		if why := g.refusal(a); why != "" {
			last = fmt.Errorf("%w: %s is %s", errRefused, a.Unmap(), why)
			continue
		}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// control refuses a connection to a non-allowed address, whatever asked for it.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errRefused, address)
	}
	if why := g.refusal(ap.Addr()); why != "" {
		return fmt.Errorf("%w: %s is %s", errRefused, ap.Addr().Unmap(), why)
	}
	return nil
}
