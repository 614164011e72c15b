"""Screening: decision files, reviewer agreement, PRISMA 2020 counts (see docs/architecture.md)."""
