"The run store keeps stored runs usable: an older evaluation format is evaluated again from best.pt (no training), a damaged metrics.json is reported, never read."
import json, os
import pytest
from imbalance_course.recipes import EVAL_FORMAT, Recipe
from imbalance_course.store import get_run, run_dir


@pytest.fixture(scope='module')
def stored(tmp_path_factory):
    "One finished 1-epoch run on a small synthetic set, in a temporary store"
    store = tmp_path_factory.mktemp('store')
    r = Recipe(name='tiny', dataset='synthetic', epochs=1)
    res = get_run(r, store, progress=False)
    return r, store, res


def test_damaged_metrics_are_reported_and_never_read(stored):
    r, store, res = stored
    out = run_dir(r, store)
    (out/'metrics.json').write_text('{"val": {"auc": 0.99')  # cut off mid-write by something other than the course
    assert (out/'last.pt').exists()  # so the run resumes: its one epoch is done, only the evaluation runs again
    with pytest.warns(UserWarning, match='metrics.json is damaged'):
        again = get_run(r, store, progress=False)
    assert again['key'] == r.key and again['eval_format'] == EVAL_FORMAT and 0 <= again['val']['auc'] <= 1
    assert json.loads((out/'metrics.json').read_text())['val'] == again['val']


def test_older_evaluation_is_redone_from_best_weights_without_training(stored):
    r, store, res = stored
    out = run_dir(r, store)
    old = json.loads((out/'metrics.json').read_text())
    (out/'last.pt').unlink(missing_ok=True)  # finished runs may lose last.pt to save space
    stale = old | {'eval_format': EVAL_FORMAT - 1, 'val': {'auc': -1.0}}
    (out/'metrics.json').write_text(json.dumps(stale))
    best = (out/'best.pt').stat().st_mtime_ns
    again = get_run(r, store, progress=False)
    assert again['eval_format'] == EVAL_FORMAT and again['val'] == old['val'] and again['test'] == old['test']
    assert again['history'] == old['history'] and again['seconds'] == old['seconds']  # the training record is kept
    assert (out/'best.pt').stat().st_mtime_ns == best and not (out/'last.pt').exists()  # nothing was trained
    assert json.loads((out/'metrics.json').read_text()) == again
