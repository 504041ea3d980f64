"""PCA tags: does a node's output separate labelled groups of questions (any model, any grouping)?

Quirke et al. look at a head's output on "TriCase" questions (a column's digits sum to 0-8, 9 or
10-18) and tag heads whose first principal components show those three cases as clusters. Here the
outputs [N, d] are projected on their top two principal components, and the *separation* is, over
every pair of groups, the smallest share of the pair's variance (in that plane) that lies between
the two group means: 1 means every group collapses to its own point, 0 that two groups coincide.
Example::

    result = pca_tag(cache["blocks.0.attn.hook_z"][:, 14, 2], labels)   # labels in {0, 1, 2}
    result.separation, result.explained[0]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

SEPARATED = 0.8  # separation at which a node is tagged as separating the groups


@dataclass(frozen=True)
class PcaTag:
    explained: tuple[float, ...]  # variance share of the first principal components (up to 3)
    separation: float  # between-group share of the variance in the PC1-PC2 plane

    @property
    def separates(self) -> bool:
        return self.separation >= SEPARATED


def pca_tag(outputs: Tensor, labels: Tensor) -> PcaTag:
    """PCA of ``outputs`` [N, d] and how well integer ``labels`` [N] separate in the top-2 plane."""
    x = outputs.double().flatten(1)
    x = x - x.mean(0, keepdim=True)
    total = float(x.square().sum())
    if total <= 1e-18 or len(x) < 2:
        return PcaTag((0.0,), 0.0)
    _, s, v = torch.linalg.svd(x, full_matrices=False)
    var = s.square()
    explained = tuple(float(e) for e in (var / var.sum())[:3])
    plane = x @ v[:2].T  # [N, 2]
    return PcaTag(explained, min(_between_share(plane, labels, pair) for pair in _pairs(labels)))


def _pairs(labels: Tensor) -> list[tuple[int, int]]:
    groups = torch.unique(labels).tolist()
    return [(a, b) for i, a in enumerate(groups) for b in groups[i + 1:]] or [(groups[0], groups[0])]


def _between_share(plane: Tensor, labels: Tensor, pair: tuple[int, int]) -> float:
    """Between-group share of the variance of the points of two groups (0 when they coincide)."""
    points = plane[(labels == pair[0]) | (labels == pair[1])]
    centred = points - points.mean(0, keepdim=True)
    total = float(centred.square().sum())
    if total <= 1e-18 or pair[0] == pair[1]:
        return 0.0
    between = 0.0
    for label in pair:
        part = plane[labels == label]
        between += len(part) * float((part.mean(0) - points.mean(0)).square().sum())
    return between / total
