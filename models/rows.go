package models

import (
	"time"

	"github.com/google/uuid"
)

// Customer is a stored customer. ID is the client's own id, unique within (account, source).
type Customer struct {
	AccountID   uuid.UUID `gorm:"type:uuid;primaryKey"`
	SourceID    uuid.UUID `gorm:"type:uuid;primaryKey"`
	ID          string    `gorm:"primaryKey"`
	Name        string
	Email       string
	Company     string
	Country     string
	ContentHash []byte
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Plan is a stored plan.
type Plan struct {
	AccountID     uuid.UUID `gorm:"type:uuid;primaryKey"`
	SourceID      uuid.UUID `gorm:"type:uuid;primaryKey"`
	ID            string    `gorm:"primaryKey"`
	Name          string
	IntervalUnit  string
	IntervalCount int32
	ContentHash   []byte
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Invoice is a stored invoice. Optional fields are nil when the client left them out.
type Invoice struct {
	AccountID      uuid.UUID `gorm:"type:uuid;primaryKey"`
	SourceID       uuid.UUID `gorm:"type:uuid;primaryKey"`
	ID             string    `gorm:"primaryKey"`
	CustomerID     string
	Type           string
	Date           time.Time
	AmountCents    int64
	Currency       string
	PlanID         *string
	SubscriptionID *string
	StartDate      time.Time
	EndDate        time.Time
	Quantity       *int64
	Discount       *int64
	ContentHash    []byte
	ArchivedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}
