package models

// Entity is one of the three kinds of ingested rows, named as its route and its table are.
type Entity string

// The ingested entities.
const (
	Customers Entity = "customers"
	Plans     Entity = "plans"
	Invoices  Entity = "invoices"
)

// archivedExpr is the SQL telling whether a stored row of the entity is archived: only invoices
// can be.
func (e Entity) archivedExpr() string {
	if e == Invoices {
		return "archived_at IS NOT NULL"
	}
	return "false"
}
