package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"invoice-ingest/api"
	"invoice-ingest/config"
	"invoice-ingest/models"
	"invoice-ingest/models/dbtest"
)

// readsFixture is an account with one data source, and helpers to store rows in it directly.
type readsFixture struct {
	e       *env
	key     string
	account uuid.UUID
	source  models.DataSource
}

func newReadsFixture(t *testing.T, e *env, name string) readsFixture {
	t.Helper()
	ctx := context.Background()
	key := e.account(name)
	k, err := e.db.FindKey(ctx, key)
	require.NoError(t, err)
	src, _, err := e.db.CreateDataSource(ctx, k.AccountID, "stripe")
	require.NoError(t, err)
	return readsFixture{e: e, key: key, account: k.AccountID, source: src}
}

func (f readsFixture) customers(t *testing.T, rows ...models.Customer) {
	t.Helper()
	for i := range rows {
		rows[i].AccountID, rows[i].SourceID, rows[i].ContentHash = f.account, f.source.ID, []byte{1}
	}
	require.NoError(t, f.e.db.Gorm.Create(&rows).Error)
}

func (f readsFixture) plans(t *testing.T, rows ...models.Plan) {
	t.Helper()
	for i := range rows {
		rows[i].AccountID, rows[i].SourceID, rows[i].ContentHash = f.account, f.source.ID, []byte{1}
	}
	require.NoError(t, f.e.db.Gorm.Create(&rows).Error)
}

// invoices stores rows, filling what the test does not care about: a one-time 100 USD invoice of
// cus_1 whose service period is its date.
func (f readsFixture) invoices(t *testing.T, rows ...models.Invoice) {
	t.Helper()
	for i := range rows {
		r := &rows[i]
		r.AccountID, r.SourceID, r.ContentHash = f.account, f.source.ID, []byte{1}
		if r.CustomerID == "" {
			r.CustomerID = "cus_1"
		}
		if r.Type == "" {
			r.Type = "one-time"
		}
		if r.Currency == "" {
			r.Currency = "USD"
		}
		if r.AmountCents == 0 {
			r.AmountCents = 100
		}
		if r.StartDate.IsZero() {
			r.StartDate, r.EndDate = r.Date, r.Date
		}
	}
	require.NoError(t, f.e.db.Gorm.CreateInBatches(&rows, 500).Error)
}

// get sends GET path (query appended with its source) with the fixture's key.
func (f readsFixture) get(path string, query url.Values) response {
	if query == nil {
		query = url.Values{}
	}
	if !query.Has("source") {
		query.Set("source", f.source.Name)
	}
	return f.e.do("GET", path+"?"+query.Encode(), f.key, nil)
}

// readsPage is a decoded list page.
type readsPage struct {
	Count      int              `json:"count"`
	List       []map[string]any `json:"list"`
	HasMore    bool             `json:"has_more"`
	NextCursor *string          `json:"next_cursor"`
}

func decodeReadsPage(t *testing.T, r response) readsPage {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &env))
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(env.Result, &raw))
	require.Contains(t, raw, "next_cursor", "next_cursor is always present (null on the last page)")
	var p readsPage
	require.NoError(t, json.Unmarshal(env.Result, &p))
	require.NotNil(t, p.List, "list is [] rather than null")
	require.Equal(t, len(p.List), p.Count)
	require.Equal(t, p.HasMore, p.NextCursor != nil)
	return p
}

// readsIDs returns the ids of a list, in order.
func readsIDs(list []map[string]any) []string {
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = r["id"].(string)
	}
	return ids
}

// walk follows next_cursor through path from the first page, calling between after each page.
func (f readsFixture) walk(t *testing.T, path string, query url.Values, limit int, between func(page int)) []string {
	t.Helper()
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("limit", fmt.Sprint(limit))
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		p := decodeReadsPage(t, f.get(path, q))
		seen = append(seen, readsIDs(p.List)...)
		if !p.HasMore {
			return seen
		}
		require.Len(t, p.List, limit, "a page before the last is full")
		require.Less(t, page, 10_000, "walk does not end")
		cursor = *p.NextCursor
		if between != nil {
			between(page)
		}
	}
}

var readsBase = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)

func TestReadsSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newReadsFixture(t, e, "reads-source")
	other := newReadsFixture(t, e, "reads-source-other")
	for _, g := range []readsFixture{f, other} {
		g.customers(t, models.Customer{ID: "cus_1", Name: g.key[:8]})
		g.plans(t, models.Plan{ID: "plan_1", Name: "Pro", IntervalUnit: "month", IntervalCount: 1})
		g.invoices(t, models.Invoice{ID: "inv_1", Date: readsBase})
	}

	routes := []struct{ list, one string }{
		{"/data/invoices", "/data/invoices/inv_1"},
		{"/data/customers", "/data/customers/cus_1"},
		{"/data/plans", "/data/plans/plan_1"},
	}
	for _, rt := range routes {
		for _, path := range []string{rt.list, rt.one} {
			t.Run(path, func(t *testing.T) {
				t.Parallel()
				for _, tc := range []struct {
					name   string
					source *string
					status int
					code   string
				}{
					{"missing", nil, http.StatusBadRequest, "invalid_request"},
					{"empty", readsPtr(""), http.StatusBadRequest, "invalid_request"},
					{"unknown name", readsPtr("chargebee"), http.StatusNotFound, "not_found"},
					{"unknown uuid", readsPtr(uuid.NewString()), http.StatusNotFound, "not_found"},
					{"another account's source by uuid", readsPtr(other.source.ID.String()), http.StatusNotFound, "not_found"},
				} {
					q := url.Values{}
					if tc.source != nil {
						q.Set("source", *tc.source)
					}
					r := e.do("GET", path+"?"+q.Encode(), f.key, nil)
					requireProblem(t, r, tc.status, tc.code)
					if tc.source == nil {
						require.Contains(t, r.JSON(t)["detail"], "source", tc.name)
					}
					require.NotContains(t, string(r.Body), other.key[:8], "never another account's data")
				}
				for _, ref := range []string{f.source.Name, f.source.ID.String()} {
					r := f.get(path, url.Values{"source": {ref}})
					require.Equal(t, http.StatusOK, r.Status, "source %s: %s", ref, r.Body)
				}
			})
		}
	}

	t.Run("another account sees none of this account's rows through its own source", func(t *testing.T) {
		t.Parallel()
		// The other account's source has the same name: its reads answer its own rows only.
		r := other.get("/data/customers/cus_1", nil)
		require.Equal(t, http.StatusOK, r.Status)
		require.Equal(t, other.key[:8], r.JSON(t)["result"].(map[string]any)["name"])
		require.Equal(t, other.source.ID.String(), r.JSON(t)["result"].(map[string]any)["source_id"])
	})

	t.Run("without the data:read scope", func(t *testing.T) {
		t.Parallel()
		_, writeOnly, err := e.db.CreateKey(context.Background(), f.account, []string{models.ScopeWrite})
		require.NoError(t, err)
		for _, path := range []string{"/data/invoices", "/data/customers/cus_1", "/data/plans"} {
			requireProblem(t, e.do("GET", path+"?source=stripe", writeOnly, nil), http.StatusForbidden, "forbidden")
		}
		requireProblem(t, e.do("GET", "/data/invoices?source=stripe", "", nil), http.StatusUnauthorized, "unauthenticated")
	})
}

func readsPtr[T any](v T) *T { return &v }

func TestReadsInvoicePaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// sortedInvoiceIDs returns ids in the list order: date DESC, id ASC.
	sortedInvoiceIDs := func(rows []models.Invoice) []string {
		rows = slices.Clone(rows)
		slices.SortFunc(rows, func(a, b models.Invoice) int {
			if c := b.Date.Compare(a.Date); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		return ids
	}

	t.Run("a walk with limit 7 visits 250 invoices once, newest first, ties by id", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t, e, "reads-walk")
		f.customers(t, models.Customer{ID: "cus_1"})
		var rows []models.Invoice
		for i := range 250 {
			// 13 distinct dates, so most pages start and end inside a tie; ids out of date order.
			rows = append(rows, models.Invoice{ID: fmt.Sprintf("inv_%04d", (i*97)%250), Date: readsBase.Add(time.Duration(i%13) * 24 * time.Hour)})
		}
		f.invoices(t, rows...)
		require.Equal(t, sortedInvoiceIDs(rows), f.walk(t, "/data/invoices", nil, 7, nil))
	})

	t.Run("a walk keeps going while invoices are inserted and sees each original once", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t, e, "reads-walk-insert")
		f.customers(t, models.Customer{ID: "cus_1"})
		var rows []models.Invoice
		for i := range 60 {
			rows = append(rows, models.Invoice{ID: fmt.Sprintf("inv_%04d", i), Date: readsBase.Add(time.Duration(i/4) * time.Hour)})
		}
		f.invoices(t, rows...)
		n := 0
		seen := f.walk(t, "/data/invoices", nil, 7, func(page int) {
			var more []models.Invoice
			// Newer than everything, older than everything, and tied with rows around the cursor,
			// with ids sorting before and after the originals.
			for _, d := range []time.Time{readsBase.Add(1000 * time.Hour), readsBase.Add(-time.Hour), readsBase.Add(time.Duration(page*2) * time.Hour)} {
				for _, prefix := range []string{"aaa_", "inv_", "zzz_"} {
					n++
					more = append(more, models.Invoice{ID: fmt.Sprintf("%s%05d", prefix, n), Date: d})
				}
			}
			f.invoices(t, more...)
		})
		counts := map[string]int{}
		for _, id := range seen {
			counts[id]++
			require.Equal(t, 1, counts[id], "%s seen twice", id)
		}
		for _, r := range rows {
			require.Equal(t, 1, counts[r.ID], "original %s seen once", r.ID)
		}
		// The originals come in list order among whatever else was seen.
		isOriginal := map[string]bool{}
		for _, r := range rows {
			isOriginal[r.ID] = true
		}
		var originals []string
		for _, id := range seen {
			if isOriginal[id] {
				originals = append(originals, id)
			}
		}
		require.Equal(t, sortedInvoiceIDs(rows), originals)
	})

	t.Run("customers and plans walk by id", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t, e, "reads-walk-ids")
		var cs []models.Customer
		var ps []models.Plan
		var want []string
		for i := range 23 {
			id := fmt.Sprintf("x_%03d", (i*5)%23)
			cs = append(cs, models.Customer{ID: id})
			ps = append(ps, models.Plan{ID: id, Name: "P", IntervalUnit: "month", IntervalCount: 1})
			want = append(want, id)
		}
		slices.Sort(want)
		f.customers(t, cs...)
		f.plans(t, ps...)
		require.Equal(t, want, f.walk(t, "/data/customers", nil, 4, nil))
		require.Equal(t, want, f.walk(t, "/data/plans", nil, 5, nil))
		require.Equal(t, want, f.walk(t, "/data/plans", nil, 23, nil))
		require.Equal(t, want, f.walk(t, "/data/customers", nil, 1000, nil))
	})

	t.Run("bad page parameters", func(t *testing.T) {
		t.Parallel()
		f := newReadsFixture(t, e, "reads-bad-page")
		f.customers(t, models.Customer{ID: "cus_1"}, models.Customer{ID: "cus_2"})
		f.invoices(t, models.Invoice{ID: "inv_1", Date: readsBase}, models.Invoice{ID: "inv_2", Date: readsBase})
		cusCursor := *decodeReadsPage(t, f.get("/data/customers", url.Values{"limit": {"1"}})).NextCursor
		for _, path := range []string{"/data/invoices", "/data/customers", "/data/plans"} {
			for _, tc := range []struct{ name, param, value string }{
				{"limit 0", "limit", "0"},
				{"limit 1001", "limit", "1001"},
				{"limit -1", "limit", "-1"},
				{"limit x", "limit", "x"},
				{"limit 1.5", "limit", "1.5"},
				{"garbage cursor", "cursor", "garbage!"},
				{"base64 of nonsense", "cursor", "bm9uc2Vuc2U"},
			} {
				t.Run(path+" "+tc.name, func(t *testing.T) {
					r := f.get(path, url.Values{tc.param: {tc.value}})
					requireProblem(t, r, http.StatusBadRequest, "invalid_request")
					require.Contains(t, r.JSON(t)["detail"], tc.param)
				})
			}
		}
		t.Run("a customer cursor given to invoices", func(t *testing.T) {
			requireProblem(t, f.get("/data/invoices", url.Values{"cursor": {cusCursor}}), http.StatusBadRequest, "invalid_request")
		})
		t.Run("limit default is 100 and 1000 is allowed", func(t *testing.T) {
			p := decodeReadsPage(t, f.get("/data/invoices", nil))
			require.Equal(t, 2, p.Count)
			require.False(t, p.HasMore)
			require.Nil(t, p.NextCursor)
			require.Equal(t, 2, decodeReadsPage(t, f.get("/data/invoices", url.Values{"limit": {"1000"}})).Count)
		})
		t.Run("empty list", func(t *testing.T) {
			p := decodeReadsPage(t, f.get("/data/plans", nil))
			require.Equal(t, 0, p.Count)
			require.Empty(t, p.List)
		})
	})
}

func TestReadsInvoiceFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newReadsFixture(t, e, "reads-filters")
	f.customers(t, models.Customer{ID: "cus_1"}, models.Customer{ID: "cus_2"})
	archivedAt := readsBase.Add(48 * time.Hour)
	day := func(n int) time.Time { return readsBase.AddDate(0, 0, n) }
	f.invoices(t,
		models.Invoice{ID: "inv_a", Date: day(0), Type: "subscription", Currency: "USD", StartDate: day(0), EndDate: day(30)},
		models.Invoice{ID: "inv_b", Date: day(1), Type: "one-time", Currency: "EUR"},
		models.Invoice{ID: "inv_c", Date: day(2), CustomerID: "cus_2", Type: "refund", Currency: "USD"},
		models.Invoice{ID: "inv_d", Date: day(3), CustomerID: "cus_2", Type: "cancellation", Currency: "EUR"},
		models.Invoice{ID: "inv_e", Date: day(4).Add(time.Second), Type: "one-time", Currency: "USD"},
		models.Invoice{ID: "inv_x", Date: day(2), Type: "one-time", Currency: "USD", ArchivedAt: &archivedAt},
	)

	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"default hides archived", nil, []string{"inv_e", "inv_d", "inv_c", "inv_b", "inv_a"}},
		{"archived=false hides archived", url.Values{"archived": {"false"}}, []string{"inv_e", "inv_d", "inv_c", "inv_b", "inv_a"}},
		{"archived=true shows only archived", url.Values{"archived": {"true"}}, []string{"inv_x"}},
		{"customer_id", url.Values{"customer_id": {"cus_2"}}, []string{"inv_d", "inv_c"}},
		{"unknown customer_id", url.Values{"customer_id": {"cus_9"}}, []string{}},
		{"type", url.Values{"type": {"one-time"}}, []string{"inv_e", "inv_b"}},
		{"type in upper case", url.Values{"type": {"SUBSCRIPTION"}}, []string{"inv_a"}},
		{"currency in lower case", url.Values{"currency": {"eur"}}, []string{"inv_d", "inv_b"}},
		{"currency in upper case", url.Values{"currency": {"USD"}}, []string{"inv_e", "inv_c", "inv_a"}},
		{"date_from is inclusive", url.Values{"date_from": {"2024-07-03"}}, []string{"inv_e", "inv_d", "inv_c"}},
		{"date_to is exclusive", url.Values{"date_to": {"2024-07-03"}}, []string{"inv_b", "inv_a"}},
		{"date_from and date_to", url.Values{"date_from": {"2024-07-02"}, "date_to": {"2024-07-04"}}, []string{"inv_c", "inv_b"}},
		{"RFC 3339 with offset", url.Values{"date_from": {"2024-07-05T02:00:01+02:00"}}, []string{"inv_e"}},
		{"RFC 3339 date_to just after", url.Values{"date_to": {"2024-07-05T00:00:01.000001Z"}, "date_from": {"2024-07-05T00:00:01Z"}}, []string{"inv_e"}},
		{"RFC 3339 in lower case, as rows take it", url.Values{"date_from": {"2024-07-05t00:00:01z"}, "date_to": {"2024-07-05t02:00:01.000001+02:00"}}, []string{"inv_e"}},
		{"lower-case t and upper-case Z", url.Values{"date_to": {"2024-07-02t00:00:00Z"}}, []string{"inv_a"}},
		{"filters combine", url.Values{"customer_id": {"cus_1"}, "currency": {"usd"}, "type": {"one-time"}}, []string{"inv_e"}},
		{"filters apply to archived too", url.Values{"archived": {"true"}, "currency": {"eur"}}, []string{}},
		{"empty values are ignored", url.Values{"type": {""}, "currency": {""}, "date_from": {""}, "cursor": {""}, "limit": {""}}, []string{"inv_e", "inv_d", "inv_c", "inv_b", "inv_a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := decodeReadsPage(t, f.get("/data/invoices", tc.query))
			require.Equal(t, tc.want, readsIDs(p.List))
		})
	}

	t.Run("paging with a filter", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, []string{"inv_e", "inv_c", "inv_a"}, f.walk(t, "/data/invoices", url.Values{"currency": {"usd"}}, 1, nil))
	})

	for _, tc := range []struct{ name, param, value string }{
		{"date_from not a date", "date_from", "yesterday"},
		{"date_from without zone", "date_from", "2024-07-01T00:00:00"},
		{"date_to not a date", "date_to", "2024-13-01"},
		{"date_to lower-case without zone", "date_to", "2024-07-01t00:00:00"},
		{"date_to year out of range", "date_to", "0000-01-01"},
		{"type unknown", "type", "credit"},
		{"currency not 3 letters", "currency", "EURO"},
		{"archived not a boolean", "archived", "maybe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := f.get("/data/invoices", url.Values{tc.param: {tc.value}})
			requireProblem(t, r, http.StatusBadRequest, "invalid_request")
			require.Contains(t, r.JSON(t)["detail"], tc.param)
		})
	}
}

func TestReadsInvoiceShape(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newReadsFixture(t, e, "reads-shape")
	f.customers(t, models.Customer{ID: "cus_1"})
	f.plans(t, models.Plan{ID: "plan_1", Name: "Pro", IntervalUnit: "month", IntervalCount: 1})
	plus2 := time.FixedZone("+02", 2*3600)
	created := time.Date(2024, 6, 30, 23, 0, 0, 0, plus2)
	archived := time.Date(2024, 8, 1, 10, 0, 0, 500000000, plus2)
	f.invoices(t,
		models.Invoice{
			ID: "inv_full", Type: "subscription", Date: time.Date(2024, 7, 1, 2, 0, 0, 0, plus2), AmountCents: 9900, Currency: "USD",
			PlanID: readsPtr("plan_1"), SubscriptionID: readsPtr("sub_1"),
			StartDate: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), EndDate: time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC),
			Quantity: readsPtr(int64(2)), Discount: readsPtr(int64(0)), CreatedAt: created, UpdatedAt: created,
		},
		models.Invoice{ID: "inv_min", Date: readsBase, CreatedAt: created, UpdatedAt: created},
		models.Invoice{ID: "inv_arch", Date: readsBase, CreatedAt: created, UpdatedAt: created, ArchivedAt: &archived},
	)
	src := f.source.ID.String()
	full := map[string]any{
		"source_id": src, "customer_id": "cus_1", "id": "inv_full", "type": "subscription",
		"date": "2024-07-01T00:00:00Z", "amount_cents": float64(9900), "currency": "USD",
		"plan_id": "plan_1", "subscription_id": "sub_1",
		"start_date": "2024-07-01T00:00:00Z", "end_date": "2024-08-01T00:00:00Z",
		"quantity": float64(2), "discount": float64(0),
		"created_at": "2024-06-30T21:00:00Z", "updated_at": "2024-06-30T21:00:00Z",
	}
	minimal := map[string]any{
		"source_id": src, "customer_id": "cus_1", "id": "inv_min", "type": "one-time",
		"date": "2024-07-01T00:00:00Z", "amount_cents": float64(100), "currency": "USD",
		"start_date": "2024-07-01T00:00:00Z", "end_date": "2024-07-01T00:00:00Z",
		"created_at": "2024-06-30T21:00:00Z", "updated_at": "2024-06-30T21:00:00Z",
	}
	arch := map[string]any{}
	for k, v := range minimal {
		arch[k] = v
	}
	arch["id"], arch["archived_at"] = "inv_arch", "2024-08-01T08:00:00.5Z"

	for _, tc := range []struct {
		name string
		id   string
		want map[string]any
	}{
		{"every optional field", "inv_full", full},
		{"absent optional fields are omitted", "inv_min", minimal},
		{"archived invoice has archived_at", "inv_arch", arch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := f.get("/data/invoices/"+tc.id, nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.Equal(t, tc.want, r.JSON(t)["result"])
		})
	}

	t.Run("lists carry the same shape", func(t *testing.T) {
		t.Parallel()
		p := decodeReadsPage(t, f.get("/data/invoices", nil))
		require.Equal(t, []map[string]any{full, minimal}, p.List)
		p = decodeReadsPage(t, f.get("/data/invoices", url.Values{"archived": {"true"}}))
		require.Equal(t, []map[string]any{arch}, p.List)
	})

	t.Run("every timestamp ends with Z", func(t *testing.T) {
		t.Parallel()
		for _, id := range []string{"inv_full", "inv_min", "inv_arch"} {
			res := f.get("/data/invoices/"+id, nil).JSON(t)["result"].(map[string]any)
			for _, k := range []string{"date", "start_date", "end_date", "created_at", "updated_at", "archived_at"} {
				if v, ok := res[k]; ok {
					require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`, v, "%s.%s", id, k)
				}
			}
		}
	})

	for _, tc := range []struct{ name, path string }{
		{"unknown invoice", "/data/invoices/inv_404"},
		{"unknown customer", "/data/customers/cus_404"},
		{"unknown plan", "/data/plans/plan_404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := f.get(tc.path, nil)
			requireProblem(t, r, http.StatusNotFound, "not_found")
			require.Contains(t, r.JSON(t)["detail"], "does not exist")
		})
	}

	t.Run("an id that needs escaping", func(t *testing.T) {
		t.Parallel()
		g := newReadsFixture(t, e, "reads-shape-escaping")
		g.customers(t, models.Customer{ID: "cus_1"})
		const id = "inv 1 ü?#%"
		g.invoices(t, models.Invoice{ID: id, Date: readsBase})
		r := g.get("/data/invoices/"+url.PathEscape(id), nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, id, r.JSON(t)["result"].(map[string]any)["id"])
	})
}

func TestReadsCustomersAndPlans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := newReadsFixture(t, e, "reads-cp")
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("-05", -5*3600))
	f.customers(t,
		models.Customer{ID: "cus_b", Name: "Bea", Email: "bea@example.com", Company: "B Ltd", Country: "GB", CreatedAt: created, UpdatedAt: created},
		models.Customer{ID: "cus_a", CreatedAt: created, UpdatedAt: created},
	)
	f.plans(t,
		models.Plan{ID: "plan_y", Name: "Yearly", IntervalUnit: "year", IntervalCount: 1, CreatedAt: created, UpdatedAt: created},
		models.Plan{ID: "plan_q", Name: "Quarterly", IntervalUnit: "month", IntervalCount: 3, CreatedAt: created, UpdatedAt: created},
	)
	src := f.source.ID.String()
	at := "2024-01-02T08:04:05Z"
	cusA := map[string]any{"source_id": src, "id": "cus_a", "created_at": at, "updated_at": at}
	cusB := map[string]any{"source_id": src, "id": "cus_b", "name": "Bea", "email": "bea@example.com",
		"company": "B Ltd", "country": "GB", "created_at": at, "updated_at": at}
	planQ := map[string]any{"source_id": src, "id": "plan_q", "name": "Quarterly", "interval_unit": "month",
		"interval_count": float64(3), "created_at": at, "updated_at": at}
	planY := map[string]any{"source_id": src, "id": "plan_y", "name": "Yearly", "interval_unit": "year",
		"interval_count": float64(1), "created_at": at, "updated_at": at}

	t.Run("customer list, empty optional strings omitted", func(t *testing.T) {
		t.Parallel()
		p := decodeReadsPage(t, f.get("/data/customers", nil))
		var want []map[string]any
		for _, c := range []map[string]any{cusA, cusB} {
			w := map[string]any{"metrics": []any{}, "metrics_stale": false} // lists carry metrics (SPEC 4)
			for k, v := range c {
				w[k] = v
			}
			want = append(want, w)
		}
		require.Equal(t, want, p.List)
	})
	t.Run("plan list", func(t *testing.T) {
		t.Parallel()
		p := decodeReadsPage(t, f.get("/data/plans", nil))
		require.Equal(t, []map[string]any{planQ, planY}, p.List)
	})
	t.Run("one plan", func(t *testing.T) {
		t.Parallel()
		r := f.get("/data/plans/plan_y", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, planY, r.JSON(t)["result"])
	})
	t.Run("one customer without invoices has empty metrics", func(t *testing.T) {
		t.Parallel()
		r := f.get("/data/customers/cus_b", nil)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		want := map[string]any{"metrics": []any{}, "metrics_stale": false}
		for k, v := range cusB {
			want[k] = v
		}
		require.Equal(t, want, r.JSON(t)["result"])
	})
}

// newReadsEnvOwnDB is newEnv over a database of its own: the metrics test stores queue rows and
// metrics by hand, which a recalculation run by another test of the package would consume.
func newReadsEnvOwnDB(t *testing.T) *env {
	t.Helper()
	db, err := models.Open(context.Background(), dbtest.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.RecalcWorkers = 0
	s := &api.Server{DB: db, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv}
}

func TestReadsCustomerMetrics(t *testing.T) {
	t.Parallel()
	e := newReadsEnvOwnDB(t)
	f := newReadsFixture(t, e, "reads-metrics")
	f.customers(t, models.Customer{ID: "cus_q"}, models.Customer{ID: "cus_f"}, models.Customer{ID: "cus_p"})
	calc := time.Date(2024, 7, 15, 12, 0, 0, 0, time.UTC)
	for _, cus := range []string{"cus_q", "cus_f"} {
		f.invoices(t,
			models.Invoice{ID: cus + "_1", CustomerID: cus, Type: "subscription", Date: readsBase, AmountCents: 9900, Currency: "USD",
				StartDate: readsBase, EndDate: readsBase.AddDate(0, 1, 0)},
			models.Invoice{ID: cus + "_2", CustomerID: cus, Type: "one-time", Date: readsBase.AddDate(0, 0, 3), AmountCents: 500, Currency: "EUR"},
		)
		for _, m := range []struct {
			cur             string
			mrr, rev, count int64
			first, last     time.Time
			status          string
		}{
			{"EUR", 0, 500, 1, readsBase.AddDate(0, 0, 3), readsBase.AddDate(0, 0, 3), "none"},
			{"USD", 9900, 9900, 1, readsBase, readsBase, "active"},
		} {
			require.NoError(t, e.db.Gorm.Exec(`INSERT INTO customer_metrics (account_id, source_id, customer_id, currency,
				mrr_cents, arr_cents, revenue_cents, invoice_count, first_invoice_at, last_invoice_at, status, calculated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				f.account, f.source.ID, cus, m.cur, m.mrr, 12*m.mrr, m.rev, m.count, m.first, m.last, m.status, calc).Error)
		}
	}
	// cus_q is queued for recalculation; cus_f is fresh; cus_p has an invoice but its first
	// calculation is still pending.
	f.invoices(t, models.Invoice{ID: "cus_p_1", CustomerID: "cus_p", Date: readsBase})
	for _, cus := range []string{"cus_q", "cus_p"} {
		require.NoError(t, e.db.Gorm.Exec(`INSERT INTO recalc_queue (account_id, source_id, customer_id) VALUES (?, ?, ?)`,
			f.account, f.source.ID, cus).Error)
	}

	metrics := func(stale bool) []any {
		return []any{
			map[string]any{"currency": "EUR", "mrr_cents": float64(0), "arr_cents": float64(0), "revenue_cents": float64(500),
				"invoice_count": float64(1), "first_invoice_at": "2024-07-04T00:00:00Z", "last_invoice_at": "2024-07-04T00:00:00Z",
				"status": "none", "calculated_at": "2024-07-15T12:00:00Z", "stale": stale},
			map[string]any{"currency": "USD", "mrr_cents": float64(9900), "arr_cents": float64(118800), "revenue_cents": float64(9900),
				"invoice_count": float64(1), "first_invoice_at": "2024-07-01T00:00:00Z", "last_invoice_at": "2024-07-01T00:00:00Z",
				"status": "active", "calculated_at": "2024-07-15T12:00:00Z", "stale": stale},
		}
	}
	for _, tc := range []struct {
		name    string
		id      string
		metrics []any
		stale   bool
	}{
		{"queued: every entry stale", "cus_q", metrics(true), true},
		{"not queued: fresh", "cus_f", metrics(false), false},
		{"first calculation pending: no entries, metrics_stale", "cus_p", []any{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := f.get("/data/customers/"+tc.id, nil)
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			res := r.JSON(t)["result"].(map[string]any)
			require.Equal(t, tc.id, res["id"])
			require.Equal(t, tc.metrics, res["metrics"])
			require.Equal(t, tc.stale, res["metrics_stale"])
		})
	}

	t.Run("lists carry each customer's metrics", func(t *testing.T) {
		t.Parallel()
		for _, c := range decodeReadsPage(t, f.get("/data/customers", nil)).List {
			one := f.get("/data/customers/"+c["id"].(string), nil).JSON(t)["result"].(map[string]any)
			require.Equal(t, one["metrics"], c["metrics"], c["id"])
			require.Equal(t, one["metrics_stale"], c["metrics_stale"], c["id"])
		}
	})
}
