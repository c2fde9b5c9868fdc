module github.com/leadkit/leadkit

go 1.24.0

require (
	github.com/DataDog/sketches-go v1.4.8
	github.com/expr-lang/expr v1.17.8
	github.com/nyaruka/phonenumbers v1.8.1
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5
	gonum.org/v1/gonum v0.17.0
)

require (
	golang.org/x/text v0.23.0 // indirect
	golang.org/x/tools v0.30.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
