module github.com/leadkit/leadkit/postgres

go 1.24.0

replace github.com/leadkit/leadkit => ../

require (
	github.com/DataDog/sketches-go v1.4.8 // indirect
	github.com/expr-lang/expr v1.17.8 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.2 // indirect
	github.com/nyaruka/phonenumbers v1.8.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.37.0 // indirect
	golang.org/x/sync v0.13.0 // indirect
	golang.org/x/text v0.24.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

require (
	github.com/jackc/pgx/v5 v5.7.6
	github.com/leadkit/leadkit v0.0.0-00010101000000-000000000000
	github.com/stretchr/testify v1.12.1
)
