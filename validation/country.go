package validation

import "sync"

// countries holds the ISO 3166-1 alpha-2 codes validator accepts, built on first use.
var countries = sync.OnceValue(func() map[string]string {
	return codeTable(2, "iso3166_1_alpha2", nil)
})

// countryCode returns the upper-case ISO 3166-1 alpha-2 code that b spells in any case, and
// whether there is one.
func countryCode(b []byte) (string, bool) {
	if len(b) != 2 {
		return "", false
	}
	return lookupCode(countries(), b)
}
