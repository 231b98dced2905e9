"""Visma read DTOs for reference data: suppliers, customers, employees, GL accounts and
dimension values. Id fields are optional here so one bad record cannot fail a whole page;
`entities.EntitySpec.id_of` rejects a record that lacks them."""

from __future__ import annotations

from visma_client.models import Code, ContactDto, VismaModel, VismaRecordDto

__all__ = [
    "AccountDto",
    "ClassRefDto",
    "CustomerDto",
    "DimensionDto",
    "EmployeeDto",
    "SupplierDto",
]


class ClassRefDto(VismaModel):
    id: Code | None = None
    description: str | None = None


class AddressDto(VismaModel):
    address_line1: str | None = None
    address_line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    country_id: str | None = None


class SupplierDto(VismaRecordDto):
    """`GET /v1/supplier` item."""

    internal_id: int | None = None
    number: Code | None = None
    name: str | None = None
    status: str | None = None
    supplier_class: ClassRefDto | None = None
    currency_id: str | None = None
    vat_registration_id: str | None = None
    corporate_id: str | None = None
    main_contact: ContactDto | None = None
    main_address: AddressDto | None = None
    note: str | None = None
    """Free text; the Visma writer marks the suppliers it creates here (read back: assumed)."""


class CustomerDto(VismaRecordDto):
    """`GET /v1/customer` item."""

    internal_id: int | None = None
    number: Code | None = None
    name: str | None = None
    status: str | None = None
    currency_id: str | None = None
    main_contact: ContactDto | None = None


class EmployeeDto(VismaRecordDto):
    """`GET /v1/employee` item (the contact block is assumed)."""

    employee_id: int | None = None
    employee_number: Code | None = None
    employee_name: str | None = None
    status: str | None = None
    department: Code | None = None
    contact: ContactDto | None = None


class AccountDto(VismaRecordDto):
    """`GET /v1/account` item (accountGroup is assumed)."""

    account_id: int | None = None
    account_cd: Code | None = None
    description: str | None = None
    type: str | None = None
    active: bool | None = None
    account_group: Code | None = None


class DimensionDto(VismaRecordDto):
    """One segment value of `GET /v1/dimension` (assumed flat)."""

    dimension_id: Code | None = None
    segment_id: int | None = None
    value_id: Code | None = None
    description: str | None = None
    active: bool | None = None
