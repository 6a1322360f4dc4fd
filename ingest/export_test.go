package ingest

// SetAfterReads installs a hook run once a batch's reads have decided its statuses, before its
// write transaction: the moment another writer can slip in between.
func (s *Service) SetAfterReads(f func()) { s.afterReads = f }
