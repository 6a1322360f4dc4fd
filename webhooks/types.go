package webhooks

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Event types (SPEC 9).
const (
	ImportCompleted = "import.completed"
	ImportCaughtUp  = "import.metrics_caught_up"
	MRRChanged      = "customer.mrr_changed"
)

// Types are every event type, in the order documentation lists them.
var Types = []string{ImportCompleted, ImportCaughtUp, MRRChanged}

// Delivery statuses.
const (
	Pending   = "pending"
	Delivered = "delivered"
	Failed    = "failed"
)

// EventID is an event's id on the wire: evt_ and its UUID's 32 hex digits. It is the
// webhook-id header, the same on every attempt, so a receiver can tell a retry from a new event.
func EventID(id uuid.UUID) string {
	return "evt_" + strings.ReplaceAll(id.String(), "-", "")
}

// knownType says whether t is an event type.
func knownType(t string) bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// typeList is Types as a sentence for error messages.
func typeList() string {
	return fmt.Sprintf("%q, %q or %q", Types[0], Types[1], Types[2])
}
