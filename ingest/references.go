package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

// checkReferences looks up the references of every group's changed rows, turns the rows whose
// references are missing into error rows and drops them from the groups.
func checkReferences[R any](ctx context.Context, s *Service, k *kind[R], account uuid.UUID, groups []*sourceGroup[R]) error {
	if k.check == nil {
		return nil
	}
	bad := func(r *row[R]) bool { return len(r.errs) > 0 }
	for _, g := range groups {
		if len(g.changed) == 0 {
			continue
		}
		if err := k.check(ctx, s.DB.Gorm, account, g.source, g.changed); err != nil {
			return err
		}
		g.changed = slices.DeleteFunc(g.changed, bad)
		g.rows = slices.DeleteFunc(g.rows, bad)
	}
	return nil
}

// checkInvoiceReferences marks invoices whose customer or plan does not exist in their source:
// one query for the customers and one for the plans of the whole group.
func checkInvoiceReferences(ctx context.Context, db *gorm.DB, account, source uuid.UUID, rows []*row[validation.Invoice]) error {
	customers := distinct(rows, func(v *validation.Invoice) string { return v.CustomerID })
	plans := distinct(rows, func(v *validation.Invoice) string { return v.PlanID })
	haveCustomer, err := models.ExistingIDs(ctx, db, models.Customers, account, source, customers)
	if err != nil {
		return err
	}
	havePlan, err := models.ExistingIDs(ctx, db, models.Plans, account, source, plans)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !haveCustomer[r.val.CustomerID] {
			r.errs = append(r.errs, validation.FieldError{Field: "customer_id", Code: validation.CodeNotFound,
				Message: fmt.Sprintf("Customer ID %s does not exist", r.val.CustomerID)})
		}
		if r.val.PlanID != "" && !havePlan[r.val.PlanID] {
			r.errs = append(r.errs, validation.FieldError{Field: "plan_id", Code: validation.CodeNotFound,
				Message: fmt.Sprintf("Plan ID %s does not exist", r.val.PlanID)})
		}
	}
	return nil
}

// distinct returns the distinct non-empty values of field over rows, in first-seen order.
func distinct[R any](rows []*row[R], field func(*R) string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, r := range rows {
		if v := field(r.val); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// isForeignKeyViolation tells whether err is PostgreSQL refusing a write for a missing referenced row.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
