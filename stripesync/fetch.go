package stripesync

import (
	"encoding/json"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v85"

	"invoice-ingest/loader"
)

// DefaultAPIBase is Stripe's API; STRIPE_API_BASE replaces it (stripe-mock in tests).
const DefaultAPIBase = "https://api.stripe.com"

// NewStripe returns a stripe-go client of the API at base (DefaultAPIBase when empty).
func NewStripe(key, base string, hc *http.Client) *stripe.Client {
	if base == "" {
		base = DefaultAPIBase
	}
	cfg := &stripe.BackendConfig{URL: stripe.String(base), HTTPClient: hc, MaxNetworkRetries: stripe.Int64(3),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelError}}
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(cfg)))
}

// pageSize is the largest page Stripe's list endpoints serve.
const pageSize = 100

func listParams(p *stripe.ListParams) { p.Limit = stripe.Int64(pageSize) }

// since is a created[gte] filter, nil when the whole history is read.
func createdSince(t time.Time) *stripe.RangeQueryParams {
	if t.IsZero() {
		return nil
	}
	return &stripe.RangeQueryParams{GreaterThanOrEqual: t.Unix()}
}

// rowSource turns a sequence of rows (nil rows are skipped) into a loader.Source.
type rowSource struct {
	next func() (any, error, bool)
	stop func()
}

func newRowSource(seq iter.Seq2[any, error]) *rowSource {
	next, stop := iter.Pull2(seq)
	return &rowSource{next: next, stop: stop}
}

func (s *rowSource) Next() (loader.Row, error) {
	v, err, ok := s.next()
	if !ok {
		return loader.Row{}, io.EOF
	}
	if err != nil {
		return loader.Row{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return loader.Row{}, err
	}
	return loader.Row{JSON: b, Orig: b}, nil
}

// mapped lists objects with list and yields the rows f maps them to (f: ok false skips one).
func mapped[T any, R any](seq stripe.Seq2[T, error], f func(T) (R, bool)) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for obj, err := range seq {
			if err != nil {
				yield(nil, err)
				return
			}
			if row, ok := f(obj); ok && !yield(row, nil) {
				return
			}
		}
	}
}
