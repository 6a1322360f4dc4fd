package validation

import "sync"

// nonCurrencies are ISO 4217 codes that validator accepts but that name no money an invoice can be
// paid in: precious metals, IMF and European composite units, the testing code and "no currency".
// The CFA francs (XOF, XAF), the East Caribbean dollar (XCD), the Caribbean guilder (XCG) and the
// CFP franc (XPF) are circulating currencies and stay accepted.
var nonCurrencies = map[string]bool{
	"XAG": true, // silver
	"XAU": true, // gold
	"XPD": true, // palladium
	"XPT": true, // platinum
	"XBA": true, // European Composite Unit
	"XBB": true, // European Monetary Unit
	"XBC": true, // European Unit of Account 9
	"XBD": true, // European Unit of Account 17
	"XDR": true, // IMF special drawing right
	"XSU": true, // SUCRE
	"XUA": true, // ADB unit of account
	"XTS": true, // reserved for testing
	"XXX": true, // no currency
}

// currencies holds the accepted currency codes, built on first use.
var currencies = sync.OnceValue(func() map[string]string {
	return codeTable(3, "iso4217", nonCurrencies)
})

// currencyCode returns the upper-case ISO 4217 code that b spells in any case, and whether it is
// a currency in active use.
func currencyCode(b []byte) (string, bool) {
	if len(b) != 3 {
		return "", false
	}
	return lookupCode(currencies(), b)
}
