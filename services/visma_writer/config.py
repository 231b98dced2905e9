"""Which Visma companies the writer may write to: the poller's companies file, read again.

One file says how to reach each company (URLs, client id, the client secret's name in the
credential store), whichever service reads it (`visma_client.companies`). The writer needs
only those shared fields and ignores the poller's schedule fields, so the same file serves
both. Secrets are never in the file.
"""

from __future__ import annotations

from pathlib import Path

from visma_client.companies import (
    CompaniesFile,
    CompaniesFileError,
    CompanyAccess,
    load_companies_file,
)

ConfigError = CompaniesFileError
"""The companies file (or a flag) is unusable; the message says which file and field."""


class WriterConfig(CompaniesFile[CompanyAccess]):
    """The shared companies file; the poller's own keys are ignored."""


def load_config(path: Path) -> WriterConfig:
    return load_companies_file(path, WriterConfig)
