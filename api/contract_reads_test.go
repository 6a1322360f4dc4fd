package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// seed stores a data source, customers, a plan and invoices through the API.
func (r *contractRun) seed() {
	r.t.Helper()
	r.json(http.StatusCreated, "POST", "/data/data_sources", `{"name": "stripe"}`)
	r.json(http.StatusOK, "POST", "/data/customers", contractCustomers)
	r.json(http.StatusOK, "POST", "/data/plans", contractPlans)
	r.json(http.StatusOK, "POST", "/data/invoices", contractInvoices)
}

// walk follows next_cursor through a list from path (which has a query string) and returns how
// many rows it saw.
func (r *contractRun) walk(path string) int {
	r.t.Helper()
	rows, cursor := 0, ""
	for range 100 {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Result struct {
				Count      int     `json:"count"`
				HasMore    bool    `json:"has_more"`
				NextCursor *string `json:"next_cursor"`
			} `json:"result"`
		}
		require.NoError(r.t, json.Unmarshal(r.json(http.StatusOK, "GET", p, ""), &page))
		rows += page.Result.Count
		if !page.Result.HasMore {
			return rows
		}
		cursor = *page.Result.NextCursor
	}
	r.t.Fatalf("%s: no last page", path)
	return 0
}

// TestContractReads: lists with paging and filters, single gets, 404s and every refusal of a read.
func TestContractReads(t *testing.T) {
	r := newContractRun(t)
	r.seed()
	require.Equal(t, 3, r.walk("/data/invoices?source=stripe&limit=1"))
	require.Equal(t, 2, r.walk("/data/customers?source=stripe&limit=1"))
	require.Equal(t, 1, r.walk("/data/plans?source=stripe"))
	r.json(http.StatusOK, "GET", "/data/invoices?source=stripe&customer_id=cus_1&type=REFUND&currency=usd"+
		"&date_from=2024-01-01&date_to=2024-12-31T00:00:00%2B02:00&archived=false", "")
	r.json(http.StatusOK, "GET", "/data/invoices?source=stripe&limit=&cursor=&type=&currency=", "")
	r.json(http.StatusOK, "GET", "/data/invoices/inv_1?source=stripe", "")
	r.json(http.StatusOK, "GET", "/data/customers/cus_1?source=stripe", "")
	r.json(http.StatusOK, "GET", "/data/customers/cus_2?source=stripe", "")
	r.json(http.StatusOK, "GET", "/data/plans/plan_1?source=stripe", "")
	r.call(http.StatusOK, "GET", "/data/plans/plan_1?source=stripe", r.read, "", "")

	r.json(http.StatusNotFound, "GET", "/data/invoices/inv_404?source=stripe", "")
	r.json(http.StatusNotFound, "GET", "/data/customers/cus_404?source=stripe", "")
	r.json(http.StatusNotFound, "GET", "/data/plans/plan_404?source=stripe", "")
	r.json(http.StatusNotFound, "GET", "/data/invoices?source=nowhere", "")
	r.json(http.StatusNotFound, "GET", "/data/customers?source=0b6c5d8e-7d8f-4c2a-9a5e-3b1f2c4d5e6f", "")

	for _, q := range []string{"", "source=", "source=stripe&limit=0", "source=stripe&limit=1001", "source=stripe&limit=x",
		"source=stripe&cursor=garbage", "source=stripe&type=gift", "source=stripe&currency=dollars",
		"source=stripe&date_from=yesterday", "source=stripe&archived=maybe"} {
		r.json(http.StatusBadRequest, "GET", "/data/invoices?"+q, "")
	}
	r.json(http.StatusBadRequest, "GET", "/data/plans?source=stripe&cursor=garbage", "")
	r.json(http.StatusBadRequest, "GET", "/data/customers/cus_1", "")

	r.call(http.StatusUnauthorized, "GET", "/data/invoices?source=stripe", "", "", "")
	r.call(http.StatusUnauthorized, "GET", "/data/invoices?source=stripe", "ik_unknown_key", "", "")
	r.call(http.StatusUnauthorized, "GET", "/data/data_sources", "", "", "", "Authorization", "Basic dXNlcjpwYXNz")
	r.call(http.StatusForbidden, "GET", "/data/invoices?source=stripe", r.write, "", "")
	r.call(http.StatusForbidden, "GET", "/data/data_sources", r.write, "", "")
	r.requireSeen(200, 400, 401, 403, 404)
}

// TestContractArchive: archive and restore, and the archived list.
func TestContractArchive(t *testing.T) {
	r := newContractRun(t)
	r.seed()
	r.json(http.StatusOK, "DELETE", "/data/invoices/inv_1?source=stripe", "")
	r.json(http.StatusOK, "DELETE", "/data/invoices/inv_1?source=stripe", "")
	require.Equal(t, 1, r.walk("/data/invoices?source=stripe&archived=TRUE"))
	r.json(http.StatusOK, "GET", "/data/invoices/inv_1?source=stripe", "")
	r.json(http.StatusOK, "POST", "/data/invoices/inv_1/restore?source=stripe", "")
	r.json(http.StatusOK, "POST", "/data/invoices/inv_1/restore?source=stripe", "")
	r.json(http.StatusNotFound, "DELETE", "/data/invoices/inv_404?source=stripe", "")
	r.json(http.StatusNotFound, "POST", "/data/invoices/inv_404/restore?source=stripe", "")
	r.json(http.StatusBadRequest, "DELETE", "/data/invoices/inv_1", "")
	r.call(http.StatusForbidden, "DELETE", "/data/invoices/inv_1?source=stripe", r.read, "", "")
	r.call(http.StatusUnauthorized, "POST", "/data/invoices/inv_1/restore?source=stripe", "", "", "")
	r.requireSeen(200, 400, 401, 403, 404)
}

// TestContractOutsideOperations: health, the document itself (also by HEAD), unknown routes and
// wrong methods (405 with Allow).
func TestContractOutsideOperations(t *testing.T) {
	r := newContractRun(t)
	r.call(http.StatusOK, "GET", "/healthz", "", "", "")
	r.call(http.StatusOK, "GET", "/readyz", "", "", "")
	r.call(http.StatusOK, "GET", "/openapi.json", "", "", "")
	r.call(http.StatusNotFound, "GET", "/nowhere", "", "", "")
	r.call(http.StatusNotFound, "GET", "/data/exports", r.key, "", "")
	r.call(http.StatusNotFound, "GET", "/data/invoices/inv_1/lines", r.key, "", "")
	r.call(http.StatusMethodNotAllowed, "PUT", "/data/invoices", r.key, "application/json", `[]`)
	r.call(http.StatusMethodNotAllowed, "PATCH", "/data/invoices/inv_1?source=stripe", r.key, "application/json", `{}`)
	r.call(http.StatusMethodNotAllowed, "DELETE", "/data/data_sources", r.key, "", "")
	r.call(http.StatusMethodNotAllowed, "POST", "/healthz", "", "", "")
	r.call(http.StatusOK, "HEAD", "/healthz", "", "", "")
	r.call(http.StatusOK, "HEAD", "/openapi.json", "", "", "")
	r.call(http.StatusMethodNotAllowed, "GET", "/data/invoices/inv_1/restore", r.key, "", "")
	r.requireSeen(200, 404, 405)
}
