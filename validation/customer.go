package validation

import "encoding/json"

// Customer is a normalised customer row. Optional strings the client left out, sent as null or
// as "" are "".
type Customer struct {
	ID, DataSource, Name, Email, Company, Country string
}

// customerWire holds the JSON text of each customer member the row carries.
type customerWire struct {
	id, dataSource, name, email, company, country []byte
}

// ParseCustomer decodes one raw row, normalises it and checks every rule of SPEC section 4 that
// needs no database. It returns all the row's errors in the order of the SPEC's fields; the
// returned customer holds every field that passed, so ID is set whenever the id is valid.
func ParseCustomer(raw json.RawMessage) (Customer, []FieldError) {
	return parseCustomer(raw, false)
}

// ParseCustomerValidJSON is ParseCustomer for a row already known to be valid JSON, such as a row of
// DecodeBody: it skips the JSON check, a large part of the cost of a row. Given invalid
// JSON it returns wrong errors (never panics); use ParseCustomer when unsure.
func ParseCustomerValidJSON(raw json.RawMessage) (Customer, []FieldError) {
	return parseCustomer(raw, true)
}

func parseCustomer(raw json.RawMessage, knownValid bool) (Customer, []FieldError) {
	m, errs := openRow(raw, knownValid)
	if errs != nil {
		return Customer{}, errs
	}
	var w customerWire
	for m.next() {
		switch string(m.key) {
		case "id":
			w.id = m.value
		case "data_source":
			w.dataSource = m.value
		case "name":
			w.name = m.value
		case "email":
			w.email = m.value
		case "company":
			w.company = m.value
		case "country":
			w.country = m.value
		}
	}

	// Go evaluates the calls of a composite literal left to right: errors come in field order.
	var e rowErrors
	c := Customer{
		ID:         e.identifier(w.id, "id", "Missing customer ID"),
		DataSource: e.identifier(w.dataSource, "data_source", msgMissingDataSource),
		Name:       e.freeText(w.name, "name", ""),
		Email:      e.email(w.email),
		Company:    e.freeText(w.company, "company", ""),
		Country:    e.country(w.country),
	}
	return c, e
}

// email reads the optional email field. It is kept as given: the local part of an address is
// case-sensitive (RFC 5321), so lower-casing it could name another mailbox.
func (e *rowErrors) email(raw []byte) string {
	b, state := readText(raw)
	if state == textAbsent {
		return ""
	}
	if state == textOK && len(b) <= maxEmailBytes {
		if s := string(b); isEmail(s) {
			return s
		}
	}
	e.invalid("email", "Invalid email "+shown(raw)+": must be a valid email address")
	return ""
}

// country reads the optional country field, in any case, and returns it upper case.
func (e *rowErrors) country(raw []byte) string {
	b, state := readText(raw)
	if state == textAbsent {
		return ""
	}
	if state == textOK {
		if code, ok := countryCode(b); ok {
			return code
		}
	}
	e.invalid("country", "Invalid country "+shown(raw)+": must be an ISO 3166-1 alpha-2 code")
	return ""
}
