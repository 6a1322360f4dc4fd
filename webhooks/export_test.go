package webhooks

// OnSettled tells fn each attempt's outcome once it committed.
func OnSettled(p *Pool, fn func(status string)) {
	p.settled = func(_ delivery, status string) { fn(status) }
}
