package webhooks_test

import (
	"context"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"invoice-ingest/models"
	"invoice-ingest/webhooks"
)

// resolver answers every host with the address it is set to.
type resolver struct {
	mu   sync.Mutex
	addr netip.Addr
}

func (r *resolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []netip.Addr{r.addr}, nil
}

func (r *resolver) set(a string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addr = netip.MustParseAddr(a)
}

// Without WEBHOOK_ALLOW_PRIVATE, URLs reaching the service's own network are refused at
// creation, naming why; with it, they are allowed.
func TestGuardRefusesPrivateURLs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	internal := &resolver{}
	internal.set("10.0.0.1")
	public := &resolver{}
	public.set("93.184.215.14")
	create := func(g webhooks.Guard, url string) error {
		_, err := webhooks.Create(context.Background(), f.db.Gorm, g, f.account,
			webhooks.NewEndpoint{URL: url, Events: []string{webhooks.ImportCompleted}}, models.Now())
		return err
	}
	for url, why := range map[string]string{
		"http://127.0.0.1/hook":                    "loopback",
		"http://169.254.169.254/latest/meta-data/": "link-local",
		"http://[::1]:8080/":                       "loopback",
		"https://hooks.internal.example/x":         "private",
		"http://0.0.0.0/":                          "unspecified",
		"http://[::ffff:127.0.0.1]/":               "loopback",
		"http://100.64.0.1/":                       "reserved",
	} {
		err := create(webhooks.Guard{Resolver: internal}, url)
		require.Equal(t, models.EINVALID, models.ErrorCode(err), url)
		require.ErrorContains(t, err, why, url)
		require.ErrorContains(t, err, "WEBHOOK_ALLOW_PRIVATE", url)
		require.NoError(t, create(webhooks.Guard{AllowPrivate: true, Resolver: internal}, url), "allowed with the flag: %s", url)
	}
	require.NoError(t, create(webhooks.Guard{Resolver: public}, "https://hooks.example.com/x"))
	for _, url := range []string{"ftp://example.com/", "example.com/hook", "http://user:pw@example.com/", "http:///path"} {
		require.Equal(t, models.EINVALID, models.ErrorCode(create(webhooks.Guard{Resolver: public}, url)), url)
	}
}

// The guard holds at each connection, not only at creation: a host whose DNS answer turns
// private after the endpoint was created (DNS rebinding), or an endpoint created while private
// addresses were allowed, is not connected to.
func TestGuardRefusesAtDial(t *testing.T) {
	f := newFixture(t)
	r := newReceiver(t, 200)
	port := r.Listener.Addr().String()
	dns := &resolver{}
	dns.set("93.184.215.14")
	e, err := webhooks.Create(context.Background(), f.db.Gorm, webhooks.Guard{Resolver: dns}, f.account,
		webhooks.NewEndpoint{URL: "http://rebind.example:" + portOf(port) + "/", Events: []string{webhooks.MRRChanged}}, models.Now())
	require.NoError(t, err)
	dns.set("127.0.0.1") // the receiver's address, now refused
	direct := f.endpoint(r.URL, webhooks.MRRChanged)
	c := newClock()
	f.record(c.Now(), webhooks.Event{Type: webhooks.MRRChanged, Data: 1})

	require.Equal(t, 2, runOnce(t, f.pool(c, webhooks.Guard{Resolver: dns})))
	require.Empty(t, r.requests(), "nothing reached the receiver")
	for _, ep := range []webhooks.Endpoint{e, direct} {
		d := f.deliveries(ep)[0]
		require.Equal(t, webhooks.Pending, d.Status)
		require.Contains(t, *d.LastError, "127.0.0.1 is a loopback address")
	}
}

func portOf(hostPort string) string {
	ap := netip.MustParseAddrPort(hostPort)
	return strconv.Itoa(int(ap.Port()))
}
