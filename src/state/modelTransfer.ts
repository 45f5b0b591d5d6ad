/**
 * Saving and loading the model on the page (the format is modelFile.ts's): Export model writes
 * the run as JSON; Import model (file picker or a file dropped on the page) replays its log from
 * the seed when it can and checks the result against the file's weights, else continues from the
 * file's weights; "CLI config" writes the configuration as a file the CLI's `train` reads.
 */
import { InputError } from '../engine/errors';
import { download } from '../ui/exportView';
import { engine, pageCheckpoint } from './engine';
import { abandonReplay, openRun } from './linkSync';
import {
  checkpointOf,
  cliConfig,
  fileBackend,
  modelFile,
  readModelFile,
  weightsDifference,
  type ModelFile,
} from './modelFile';
import { runLog } from './runLog';
import { showRun } from './scenes';
import { simView } from './simView';
import { pushNotice, useApp } from './store';

/** A file name's stem that says what it holds: chapter (or custom), what, step. */
export function runFileStem(what?: string): string {
  const { chapter } = useApp.getState();
  const step = simView.getState().latest?.step ?? 0;
  return `lcp-${chapter ?? 'custom'}${what ? `-${what}` : ''}-step${step}`;
}

/** Download the run as a model file. */
export function exportModel(): void {
  if (useApp.getState().busy) {
    pushNotice({
      level: 'warning',
      key: 'export',
      text: 'Export the model when the engine is idle (Stop first): while it works, the weights on the page lag behind it.',
    });
    return;
  }
  const checkpoint = pageCheckpoint();
  const { base, entries } = runLog.getState();
  if (!checkpoint || !base) {
    pushNotice({ level: 'warning', key: 'export', text: 'Nothing to export yet: no network.' });
    return;
  }
  const { config, backend, chapter, scene } = useApp.getState();
  const file = modelFile({
    config,
    backend,
    chapter,
    scene,
    log: { continued: base.continued, entries },
    checkpoint,
  });
  download(JSON.stringify(file), `${runFileStem()}.model.json`, 'application/json');
}

/** Download the configuration as a CLI config file. */
export function exportCliConfig(): void {
  download(cliConfig(useApp.getState().config), `${runFileStem()}.config.json`, 'application/json');
}

/** Load a model file's text: nothing changes unless it is valid. */
export function importModelText(text: string, name = 'the file'): void {
  let file: ModelFile;
  try {
    file = readModelFile(text);
  } catch (e) {
    const why = e instanceof InputError ? e.message : String(e);
    pushNotice({ level: 'error', key: 'import', text: `Could not load ${name}: ${why}` });
    return;
  }
  const backend = fileBackend(file);
  if (file.log.continued === null) {
    // From the seed, as a link: then the weights must be the file's.
    openRun(
      {
        config: file.config,
        backend,
        chapter: file.chapter,
        scene: file.scene,
        log: file.log.entries,
      },
      () => checkAgainstFile(file, name),
    );
    return;
  }
  continueFrom(file);
  pushNotice({
    level: 'info',
    key: 'import',
    text: `Loaded ${name}: its run continues ${file.log.continued}, so it goes on from the file's weights and state (the sample order and the optimiser's moments start afresh).`,
  });
}

/** Continue from the file's weights and state (no replay). */
function continueFrom(file: ModelFile): void {
  // A replay still running (a link, an earlier file) would end on this run and report on it.
  abandonReplay();
  const backend = fileBackend(file);
  const config = backend ? { ...file.config, backend } : file.config;
  showRun({ config, chapterConfig: config, chapter: file.chapter, scene: file.scene });
  engine().send({ type: 'restore', config, checkpoint: checkpointOf(file) });
}

/** After a replay: the weights should be the file's, bit for bit. */
function checkAgainstFile(file: ModelFile, name: string): void {
  const waitForWeights = (tries: number) => {
    const cp = pageCheckpoint();
    const latest = simView.getState().latest;
    if ((!cp || !latest || latest.updates !== file.updates) && tries > 0) {
      setTimeout(() => waitForWeights(tries - 1), 200);
      return;
    }
    const diff = cp ? weightsDifference(cp.params, checkpointOf(file).params) : Infinity;
    if (diff === 0)
      pushNotice({
        level: 'info',
        key: 'import',
        text: `Loaded ${name}: replayed ${file.log.entries.length} actions from its seed; the weights equal the file's bit for bit.`,
      });
    else {
      pushNotice({
        level: 'warning',
        key: 'import',
        text: `Loaded ${name}: the replay on this backend (${useApp.getState().backend}) differs from the file's weights (largest difference ${diff.toPrecision(2)}); continuing from the file's weights instead.`,
      });
      continueFrom(file);
    }
  };
  waitForWeights(50);
}

/** A file from the picker or a drop. */
export async function importModelFile(f: File): Promise<void> {
  if (f.size > 256 * 2 ** 20) {
    pushNotice({
      level: 'error',
      key: 'import',
      text: `Could not load ${f.name}: it is over 256 MiB`,
    });
    return;
  }
  importModelText(await f.text(), f.name);
}
