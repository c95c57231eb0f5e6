"""What the CLI tests' small projects share: a CSV -> Customer mapping read by real `validate` and `run`."""

MAPPING = """\
canonical: Customer
format: csv
csv: {delimiter: ","}
fields:
  customer_number: {column: id, required: true}
  name: {column: name, required: true}
"""
