"""Who the customers are: segments, tenure and the running contract on the first day."""

from __future__ import annotations

import numpy as np

from simulator._calendar import Window
from simulator._population import draw_population


def test_older_accounts_are_inside_a_running_term_on_day_zero():
    window = Window.of(None, 12)
    population = draw_population(np.random.default_rng(0), 400, 0, window)
    older = population.created < 0
    assert 0.2 < older.mean() < 0.7  # a base of existing customers plus new logos
    assert (population.contract_start[older] <= 0).all()
    assert (population.contract_end[older] > 0).all()
    newer = ~older
    assert (population.contract_start[newer] == population.created[newer]).all()
    assert (population.contract_start[newer] < window.n_days).all()


def test_segments_have_their_own_terms_and_sizes():
    population = draw_population(np.random.default_rng(1), 2000, 0, Window.of(None, 12))
    smb, enterprise = population.segment == 0, population.segment == 2
    assert set(population.term[smb]) == {1, 12}
    assert set(population.term[enterprise]) == {12, 24, 36}
    assert np.median(population.seats[smb]) < np.median(population.seats[enterprise])
    assert 0.05 < population.stalled.mean() < 0.3
