package client

import (
	"fmt"
	"math"
	"strings"
)

// minorUnitExceptions are the currencies of ISO 4217's list (amendment of 2024, codes in active
// use) whose minor unit is not 2 decimals. Every other active code has 2.
var minorUnitExceptions = map[string]int{
	// no decimals
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// three decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// four decimals
	"CLF": 4, "UYW": 4,
}

// MinorUnits returns how many decimals the currency's minor unit has (JPY 0, USD 2, KWD 3), per
// ISO 4217. code is any case; whether it is a currency at all is the service's check.
func MinorUnits(code string) int {
	if n, ok := minorUnitExceptions[strings.ToUpper(code)]; ok {
		return n
	}
	return 2
}

// MajorToMinor converts a decimal amount in major units ("99.00", "1500", "12.345") into minor
// units of currency: "99.5" USD is 9950, "1500" JPY is 1500, "1.234" KWD is 1234. It is exact
// (no floating point); more decimals than the currency has are an error unless they are zeros.
func MajorToMinor(amount, currency string) (int64, error) {
	digits := MinorUnits(currency)
	s := strings.TrimSpace(amount)
	whole, frac, hasPoint := strings.Cut(s, ".")
	if s == "" || strings.HasPrefix(s, "+") || (hasPoint && frac == "" && whole == "") {
		return 0, fmt.Errorf("%q is not a decimal amount", amount)
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > digits {
		return 0, fmt.Errorf("%q has more decimals than %s has (%d)", amount, strings.ToUpper(currency), digits)
	}
	neg := strings.HasPrefix(whole, "-")
	whole = strings.TrimPrefix(whole, "-")
	n, err := decimalDigits(whole + frac + strings.Repeat("0", digits-len(frac)))
	if err != nil {
		return 0, fmt.Errorf("%q is not a decimal amount", amount)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// decimalDigits parses a run of ASCII digits, refusing overflow.
func decimalDigits(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("no digits")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not a digit")
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, fmt.Errorf("too large")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}
