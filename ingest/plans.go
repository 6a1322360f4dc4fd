package ingest

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"invoice-ingest/models"
	"invoice-ingest/validation"
)

var planKind = &kind[validation.Plan]{
	noun:       "plan",
	entity:     models.Plans,
	parse:      validation.ParsePlan,
	parseValid: validation.ParsePlanValidJSON,
	ident:      func(p *validation.Plan) (string, string) { return p.ID, p.DataSource },
	hash: func(h *hasher, p *validation.Plan) digest {
		return h.start().str(p.Name).str(p.IntervalUnit).int(int64(p.IntervalCount)).sum()
	},
	write: writePlans,
}

func writePlans(ctx context.Context, tx *gorm.DB, account, source uuid.UUID, now time.Time, rows []*row[validation.Plan]) (models.Written, error) {
	n := len(rows)
	p := models.PlanColumns{IDs: make([]string, n), Names: make([]string, n), IntervalUnits: make([]string, n),
		IntervalCounts: make([]int32, n), RowHashes: rowHashes(rows)}
	for i, r := range rows {
		v := r.val
		p.IDs[i], p.Names[i], p.IntervalUnits[i], p.IntervalCounts[i] = v.ID, v.Name, v.IntervalUnit, v.IntervalCount
	}
	return models.UpsertPlans(ctx, tx, account, source, now, p)
}
