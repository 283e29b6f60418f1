"Lesson 10's choices are made on validation only, and its bad inputs give one clear error each (the notebook checks the maths)."
import json
import numpy as np, pytest
from imbalance_course.thresholds import (VEGALITE_MIME, Scores, ThresholdExplorer, at_threshold, choose_threshold, counts_at, fit_temperature, from_logits,
                                         get_scores, net_benefit, scaled, shift_prevalence, threshold_ci)


def _scores(split, n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return from_logits(y, 2 * rng.normal(0, 1, n) + 3 * y - 1.5, split)


PICKERS = {'choose_threshold': lambda s: choose_threshold(s), 'choose_threshold(cost)': lambda s: choose_threshold(s, 'cost', cost_ratio=5),
           'threshold_ci': lambda s: threshold_ci(s, 'sensitivity', target=0.9, n_boot=20), 'fit_temperature': fit_temperature,
           'ThresholdExplorer': ThresholdExplorer}


@pytest.mark.parametrize('name', PICKERS)
@pytest.mark.parametrize('split', ['test', 'train'])
def test_pickers_refuse_scores_that_are_not_validation(name, split):
    with pytest.raises(ValueError, match=f"chooses on validation scores, but these are '{split}' scores; choose on scores\\['val'\\]"):
        PICKERS[name](_scores(split))
    PICKERS[name](_scores('val'))  # the same numbers labelled as validation are accepted


@pytest.mark.parametrize('name', PICKERS)
def test_pickers_refuse_bare_arrays(name):
    s = _scores('val')
    with pytest.raises(TypeError, match="takes `Scores`"): PICKERS[name](s.score)


@pytest.mark.parametrize('name', PICKERS)
def test_pickers_need_both_classes(name):
    with pytest.raises(ValueError, match="needs both classes"): PICKERS[name](from_logits([1] * 10, np.linspace(-1, 1, 10), 'val'))


def test_shift_prevalence_of_test_scores_needs_the_calibration_prevalence():
    te = _scores('test')
    with pytest.raises(ValueError, match="pass `source`, the prevalence they were calibrated for"): shift_prevalence(te, 0.1)
    assert len(shift_prevalence(te, 0.1, source=0.5)) == len(te)


@pytest.mark.parametrize('call,msg', [
    (lambda s: at_threshold(s, 1.2), r"threshold=1.2 is outside \[0, 1\]"),
    (lambda s: at_threshold(s, -0.1), r"threshold=-0.1 is outside \[0, 1\]"),
    (lambda s: counts_at(s, float('nan')), r"threshold=nan is outside \[0, 1\]"),
    (lambda s: at_threshold(s, 0.5, cost_ratio=0), "cost_ratio=0 must be a positive number"),
    (lambda s: choose_threshold(s, "cost", cost_ratio=-1), "cost_ratio=-1 must be a positive number"),
    (lambda s: at_threshold(s, 0.5, prevalence=1.0), "prevalence=1.0 must lie strictly between 0 and 1"),
    (lambda s: shift_prevalence(s, 0.0), "prevalence=0.0 must lie strictly between 0 and 1"),
    (lambda s: ThresholdExplorer(s, prevalence=1.5), "prevalence=1.5 must lie strictly between 0 and 1"),
    (lambda s: ThresholdExplorer(s, cost_ratio=0), "cost_ratio=0 must be a positive number"),
    (lambda s: ThresholdExplorer(s, threshold=2), r"threshold=2 is outside \[0, 1\]"),
    (lambda s: scaled(s, 0), "must be a positive temperature"),
    (lambda s: net_benefit(s, [0.2, 1.0]), "strictly between 0 and 1"),
])
def test_bad_settings(call, msg):
    with pytest.raises(ValueError, match=msg): call(_scores('val'))


def test_bad_scores():
    with pytest.raises(ValueError, match="`targ` has 3 items but `score` has 2"): Scores([0, 1, 1], [0.1, 0.2], 'val')
    with pytest.raises(ValueError, match="`targ` has 2 items but `logit` has 3"): Scores([0, 1], [0.1, 0.2], 'val', logit=[1, 2, 3])
    with pytest.raises(ValueError, match="outside \\[0, 1\\]"): Scores([0, 1], [0.1, 1.2], 'val')
    with pytest.raises(ValueError, match="binary labels 0/1"): Scores([0, 3], [0.1, 0.2], 'val')
    with pytest.raises(ValueError, match="NaN"): Scores([0, 1], [0.1, float('nan')], 'val')
    with pytest.raises(ValueError, match="split='valid' is unknown"): Scores([0, 1], [0.1, 0.2], 'valid')
    with pytest.raises(ValueError, match="needs log-odds"): fit_temperature(Scores([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], 'val'))


def test_get_scores_needs_a_binary_model():
    import torch.nn as nn
    from imbalance_course.data import ImageData, make_synthetic
    sp = make_synthetic(n=40, size=8, ratio=3)
    data = ImageData('toy', ('normal', 'lesion'), 1, sp, sp, sp)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))
    with pytest.raises(ValueError, match="the model has 3 outputs; thresholds need a binary classifier"): get_scores(model, data)
    sc = get_scores(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), data)
    assert [s.split for s in sc.values()] == ['val', 'test'] and len(sc['val']) == len(data.val)


def test_explorer_shows_test_only_when_reported():
    "Live views read validation only; each `report` is a look at test, kept, numbered and left as it was."
    val, test = _scores('val'), _scores('test', seed=1)
    ex = ThresholdExplorer(val, test)
    assert ex.at(0.3).index.tolist() == ['val'] and set(ex.curves.split) == {'val'}  # no test curve: it would show test at every threshold
    g = ex.curves[ex.curves.threshold == 0.3].iloc[0]
    assert [g.tp, g.fp, g.fn, g.tn] == list(counts_at(val, 0.3).values())  # the curve table agrees with direct counting
    assert len(ex.reported) == 0
    first = ex.report(0.3, 0.2, 4.).loc[1].to_dict()
    assert [first[k] for k in ('tp', 'fp', 'fn', 'tn')] == list(counts_at(test, 0.3).values())
    assert (first['threshold'], first['prevalence'], first['cost_ratio']) == (0.3, 0.2, 4.)
    ex.report(0.5)
    assert ex.reported.index.tolist() == [1, 2] and ex.reported.loc[1].to_dict() == first
    spec = ex.chart().to_dict()
    params = {p['name']: p for p in spec['params']}  # altair lifts the button's selection `report` to the top
    assert list(params) == ['report', 'threshold', 'prevalence', 'cost_ratio', 'looks', 'reported', 'reported_prevalence', 'reported_cost']
    assert params['report']['select'] == {'type': 'point', 'fields': ['t', 'p', 'r'], 'on': 'click', 'toggle': 'true', 'clear': False}
    assert params['reported']['expr'].endswith(': -1')  # the chart starts with test unreported: the reports live in the chart, not in Python's `reported`
    assert {r.split(',')[0] for r in spec['datasets']['curves'].splitlines()[1:]} == {'val'}
    alone = ThresholdExplorer(val).chart().to_dict()  # no test scores: no button, test never shown
    assert 'report_store' in json.dumps(spec) and 'report_store' not in json.dumps(alone) and {'name': 'reported', 'value': -1} in alone['params']
    data, meta = ex._repr_mimebundle_()  # the notebook's display: Vega-Lite that JupyterLab draws (as SVG) without a kernel
    assert data[VEGALITE_MIME]['datasets'] == spec['datasets'] and meta[VEGALITE_MIME]['embed_options']['renderer'] == 'svg'
    assert len(data['image/png']) < 100  # a 1-pixel stand-in: JupyterLab then stores no PNG copy of the chart in the notebook
    page = ex.html()  # the website's: the same spec, drawn by the page's vegaEmbed
    assert 'class="threshold-explorer"' in page and json.dumps(spec['datasets']['scores']) in page


def test_explorer_widget_reports_on_the_button():
    val, test = _scores('val'), _scores('test', seed=1)
    ex = ThresholdExplorer(val, test)
    w = ex.widget()
    w.sliders['threshold'].value = 0.3
    row = lambda c: ''.join(f'<td>{c[k]}</td>' for k in ('tp', 'fp', 'fn', 'tn'))
    assert '<tr><th>val</th>' + row(counts_at(val, 0.3)) in w.table.value and '<th>test</th>' not in w.table.value
    w.button.click(); w.sliders['threshold'].value = 0.6; w.button.click()
    assert row(counts_at(test, 0.3)) in w.reports.value and row(counts_at(test, 0.6)) in w.reports.value
    assert 'test looked at 2 times' in w.looked.value and ex.reported.threshold.tolist() == [0.3, 0.6]
    assert ThresholdExplorer(val).widget().button.disabled  # nothing to report without test scores


def test_explorer_refuses_what_it_cannot_report():
    val = _scores('val')
    with pytest.raises(ValueError, match=r'ThresholdExplorer\(val, test\)'): ThresholdExplorer(val).report()
    with pytest.raises(ValueError, match="holds 'val' scores"): ThresholdExplorer(val, val)


def test_explorer_page_scores_are_short_and_count_exactly():
    "The chart's scores are shortened to 5 decimals except near a threshold the chart can take: the counts stay those of `counts_at`."
    from imbalance_course.thresholds import threshold_grid
    rng = np.random.default_rng(3)
    score = np.concatenate([rng.random(400).astype(np.float32), np.float32([0.7, 0.715, 0.1, 0.5]),  # float32 just off grid points
                            [0.715, 0.715 + 4e-6, 0.715 - 4e-6, 0.715 + 2e-5, 0.8123, 0., 1.]])
    val = Scores(rng.integers(0, 2, len(score)), score, 'val')
    ex = ThresholdExplorer(val, threshold=0.8123)  # a start off the grid is a threshold the chart takes too
    rows = [r.split(',') for r in ex.chart().to_dict()['datasets']['scores'].splitlines()[1:]]
    shown = Scores([int(r[1]) for r in rows], [float(r[2]) for r in rows], 'val')
    assert np.mean([len(r[2]) for r in rows]) < 8.5  # under half of `repr`'s 18 characters
    for t in list(threshold_grid(ex.step)) + [0.8123]:
        assert counts_at(shown, t) == counts_at(val, t), t
