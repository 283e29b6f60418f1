"A technique from a package of your own: registered through the entry-point group `imbalance_course.techniques`, found by the CLI by name, no file of `imbalance_course` edited."
import json, os, subprocess, sys, textwrap
from pathlib import Path
from test_cli import cli

PLUGIN = '''
import torch.nn.functional as F
from imbalance_course.recipes import register

@register('loss', 'mine')
def _mine(n_cls, gamma:float=1.0):
    "my loss: cross-entropy scaled by (1 - p_t)^gamma, per sample"
    def loss(pred, targ):
        ce = F.cross_entropy(pred, targ, reduction='none')
        return (1 - (-ce).exp()) ** gamma * ce
    return loss
'''


def install_plugin(site:Path) -> dict:
    "A package `mytech` and its distribution metadata in `site`, declaring one technique module; the environment that sees it."
    (site/'mytech').mkdir(parents=True)
    (site/'mytech'/'__init__.py').write_text(textwrap.dedent(PLUGIN))
    dist = site/'mytech-0.1.dist-info'; dist.mkdir()
    (dist/'METADATA').write_text('Metadata-Version: 2.1\nName: mytech\nVersion: 0.1\n')
    (dist/'entry_points.txt').write_text('[imbalance_course.techniques]\nmytech = mytech\n')
    return {'PYTHONPATH': os.pathsep.join([str(site), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep)}


def test_a_loss_from_another_package_runs_by_name(tmp_path, monkeypatch):
    env = install_plugin(tmp_path/'site')
    for k, v in env.items(): monkeypatch.setenv(k, v)
    h = cli('train', '--help')
    assert h.returncode == 0, h.stderr
    assert 'mine(gamma=1.0) - my loss' in ' '.join(h.stdout.split())
    r = cli('train', '--dataset', 'synthetic', '--size', 16, '--loss', 'mine:gamma=2', '--epochs', 1, '--out', tmp_path/'run', '--quiet')
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'run'/'metrics.json').read_text())
    assert res['recipe']['loss'] == {'name': 'mine', 'gamma': 2.0} and 0 <= res['test']['auc'] <= 1


def test_the_course_modules_are_found_through_the_same_group():
    from importlib.metadata import entry_points
    from imbalance_course.models import TECHNIQUES, load_techniques
    names = {ep.name for ep in entry_points(group=TECHNIQUES)}
    assert {'resample', 'augment', 'losses', 'longtail', 'auc', 'attention', 'sam_ema', 'capstone'} <= names
    assert set(load_techniques()) == names
    src = (Path(__file__).parents[1]/'imbalance_course'/'recipes.py').read_text()
    assert 'imbalance_course.resample' not in src and 'TECHNIQUE_MODULES' not in src  # the registry names no technique module
