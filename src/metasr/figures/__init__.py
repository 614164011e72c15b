"""Figures (matplotlib, Agg): forest, funnel, sensitivity, risk of bias, summary; PRISMA in prisma.py."""
