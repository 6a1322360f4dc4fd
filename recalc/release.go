package recalc

import (
	"context"
	"time"
)

// A release that fails (the database went away with the batch) would leave the claim's customers
// stale until the lease runs out. The claim is kept instead, and every claim loop of the pool
// retries such releases before its next poll, at the loop's pace (which backs off while the
// database fails), until one succeeds or the lease would have expired anyway.

// pendingRelease is a claim whose release failed.
type pendingRelease struct {
	c     *claim
	until time.Time // by then the lease has run out without us: nothing left to give back
}

// releaseOrKeep releases c, keeping it for a retry (retryReleases) when that fails.
func (p *Pool) releaseOrKeep(ctx context.Context, c *claim) error {
	err := p.release(ctx, c)
	if err != nil {
		// The lease was last extended before now, so it ends within one Lease from now.
		p.relMu.Lock()
		p.pending = append(p.pending, pendingRelease{c: c, until: time.Now().Add(p.cfg.Lease)})
		p.relMu.Unlock()
	}
	return err
}

// retryReleases retries the releases that failed, oldest first, stopping at the first failure
// (the database is still away: the rest wait for the next round). Several loops may call it at
// once: each takes the whole list, and puts back what it could not release.
func (p *Pool) retryReleases(ctx context.Context) {
	p.relMu.Lock()
	list := p.pending
	p.pending = nil
	p.relMu.Unlock()
	if len(list) == 0 {
		return
	}
	now := time.Now()
	for i, r := range list {
		if ctx.Err() != nil {
			p.keepPending(list[i:]) // Run's releaseAll gives them back
			return
		}
		if now.After(r.until) {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, releaseTimeout)
		err := p.release(rctx, r.c)
		cancel()
		if p.hooks.releaseRetried != nil {
			p.hooks.releaseRetried(r.c.token, err)
		}
		if err != nil {
			p.keepPending(list[i:])
			return
		}
		p.cfg.Log.Info("recalc: released a claim after a failed release", "claim", r.c.token)
	}
}

// keepPending puts rs back on the list of releases to retry.
func (p *Pool) keepPending(rs []pendingRelease) {
	p.relMu.Lock()
	p.pending = append(p.pending, rs...)
	p.relMu.Unlock()
}

// forgetPending drops the list: releaseAll has given back every claim of the pool.
func (p *Pool) forgetPending() {
	p.relMu.Lock()
	p.pending = nil
	p.relMu.Unlock()
}
