"""Rows grouped by cluster, and block-diagonal matrices stored one dense block per cluster.

Dependent effect sizes are correlated within a cluster (a study) and independent across clusters,
so every covariance matrix of the multilevel model and of cluster-robust inference is block
diagonal. `BlockDiagonal` keeps the blocks of equal size stacked in one array, so that an operation
on every block (inverse, Cholesky factor, eigen-decomposition) is one vectorised numpy call per
block size and a k x k matrix is never formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clusters:
    """Cluster membership of k rows: `codes` (0 .. J-1 per row) and the rows of each cluster."""

    codes: np.ndarray
    labels: tuple

    @classmethod
    def from_labels(cls, labels) -> Clusters:
        """Clusters numbered in sorted order of their labels (any hashable, sortable values)."""
        values = np.asarray(labels)
        uniques, codes = np.unique(values, return_inverse=True)
        return cls(codes=codes.reshape(-1).astype(np.intp), labels=tuple(uniques.tolist()))

    @property
    def k(self) -> int:
        return len(self.codes)

    @property
    def n_clusters(self) -> int:
        return len(self.labels)

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.codes, minlength=self.n_clusters)

    @property
    def order(self) -> np.ndarray:
        """Row indices sorted by cluster (rows of one cluster keep their input order)."""
        return np.argsort(self.codes, kind="stable")

    @property
    def starts(self) -> np.ndarray:
        """Position of each cluster's first row in `order`."""
        return np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.intp)

    def by_size(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(cluster codes, rows)] per block size: `rows` is (n clusters, size), input row indices."""
        order, starts, sizes = self.order, self.starts, self.sizes
        groups = []
        for size in np.unique(sizes):
            members = np.flatnonzero(sizes == size)
            rows = order[starts[members][:, None] + np.arange(size)]
            groups.append((members, rows))
        return groups


@dataclass
class BlockDiagonal:
    """A symmetric block-diagonal k x k matrix: `groups` = [(rows (n, s), blocks (n, s, s))]."""

    k: int
    groups: list

    @classmethod
    def from_diagonal(cls, diagonal, clusters: Clusters) -> BlockDiagonal:
        d = np.asarray(diagonal, dtype=float)
        groups = []
        for _, rows in clusters.by_size():
            blocks = np.zeros(rows.shape + (rows.shape[1],))
            idx = np.arange(rows.shape[1])
            blocks[:, idx, idx] = d[rows]
            groups.append((rows, blocks))
        return cls(clusters.k, groups)

    def plus_cluster_effects(self, sigma2_between: float, sigma2_within: float) -> BlockDiagonal:
        """The matrix + sigma2_between * J (within each block) + sigma2_within * I."""
        groups = []
        for rows, blocks in self.groups:
            size = rows.shape[1]
            groups.append((rows, blocks + sigma2_between + sigma2_within * np.eye(size)))
        return BlockDiagonal(self.k, groups)

    def dense(self) -> np.ndarray:
        """The full k x k matrix (for checks on small data; the engine never needs it)."""
        out = np.zeros((self.k, self.k))
        for rows, blocks in self.groups:
            for r, b in zip(rows, blocks, strict=True):
                out[np.ix_(r, r)] = b
        return out


def vcalc(vi, clusters: Clusters, rho: float) -> BlockDiagonal:
    """Sampling covariance with a constant correlation `rho` between the effect sizes of a cluster:
    vi on the diagonal, rho * sqrt(vi * vj) between different rows of one cluster (metafor's
    `vcalc(vi, cluster, obs = <one id per row>, rho = rho)`), 0 across clusters."""
    sd = np.sqrt(np.asarray(vi, dtype=float))
    groups = []
    for _, rows in clusters.by_size():
        s = sd[rows]
        blocks = rho * s[:, :, None] * s[:, None, :]
        idx = np.arange(rows.shape[1])
        blocks[:, idx, idx] = s**2
        groups.append((rows, blocks))
    return BlockDiagonal(clusters.k, groups)
