"""Development decisions and the "who decides" ledger: stages, consultations, the equity impact
assessment, votes by name, the outcome, and a hash-chained, append-only record of every step."""
