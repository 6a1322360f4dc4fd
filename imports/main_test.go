package imports_test

import (
	"testing"

	"invoice-ingest/models/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }
