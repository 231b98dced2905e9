"""Reference data from Visma.net ERP: suppliers, customers, employees, GL accounts and
dimension values.

Processors read these as tables (latest version per entity key), so their topics are
compacted; each event carries the whole record, never a delta.
"""

from __future__ import annotations

from events.visma import VismaEntityChanged, VismaPayload


class Supplier(VismaPayload):
    internal_id: int | None = None
    number: str
    name: str | None = None
    status: str | None = None
    supplier_class_id: str | None = None
    supplier_class_description: str | None = None
    currency: str | None = None
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    email: str | None = None
    phone: str | None = None


class SupplierChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.SupplierChanged"

    entity_type: str = "supplier"
    supplier: Supplier


class Customer(VismaPayload):
    internal_id: int | None = None
    number: str
    name: str | None = None
    status: str | None = None
    currency: str | None = None
    email: str | None = None
    phone: str | None = None


class CustomerChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.CustomerChanged"

    entity_type: str = "customer"
    customer: Customer


class Employee(VismaPayload):
    employee_id: int | None = None
    employee_number: str
    employee_name: str | None = None
    status: str | None = None
    department: str | None = None
    email: str | None = None
    phone: str | None = None


class EmployeeChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.EmployeeChanged"

    entity_type: str = "employee"
    employee: Employee


class Account(VismaPayload):
    account_id: int | None = None
    account_code: str
    description: str | None = None
    account_type: str | None = None
    active: bool | None = None
    account_group: str | None = None


class AccountChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.AccountChanged"

    entity_type: str = "account"
    account: Account


class Dimension(VismaPayload):
    dimension_id: str
    segment_id: int
    value_id: str
    description: str | None = None
    active: bool | None = None


class DimensionChanged(VismaEntityChanged):
    SCHEMA = "io.mlconnector.visma.DimensionChanged"

    entity_type: str = "dimension"
    dimension: Dimension
