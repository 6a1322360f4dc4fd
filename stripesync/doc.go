// Package stripesync reads a Stripe account through the official stripe-go library and maps it
// to this service's rows (SPEC 8's table): customers, recurring prices as plans, invoices,
// credit notes as refunds and ended subscriptions as cancellations. The mapping is pure
// functions (mapping.go), tested on Stripe-shaped fixtures; Sync (sync.go) lists the objects
// with auto-pagination and pushes the rows through package loader, then archives void invoices
// that were pushed before. README "Syncing Stripe" states the mapping and its limits.
package stripesync
