"Copy θ and the boosted share of every AUC-reshaping run listed in results/auc_*/**/runs.csv from the run store (runs/store) into results/auc_*/theta.csv. Run from the repository root after the grid of lesson 07."
import json, sys
from pathlib import Path
import pandas as pd
for folder in ('auc_pn', 'auc_pn10', 'auc_br'):
    rows = []
    for csv in sorted(Path(f'results/{folder}').rglob('runs.csv')):
        for r in pd.read_csv(csv).itertuples():
            if not r.recipe.startswith('auc_reshape'): continue
            run = next(Path('runs/store').glob(f'*-s{r.seed}-{r.key}'))
            for h in json.loads((run/'metrics.json').read_text())['history']:
                rows.append({'recipe': r.recipe, 'seed': r.seed, 'epoch': h['epoch'], 'theta': h['theta'], 'boosted': h['boosted']})
    pd.DataFrame(rows).to_csv(f'results/{folder}/theta.csv', index=False)
    print(folder, len(rows))
