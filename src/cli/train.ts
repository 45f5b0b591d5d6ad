import { InputError } from '../engine/errors';

/** `train PRESET|FILE [key=value …]` (the training engine is the next step). */
export async function runTrain(args: string[]): Promise<void> {
  throw InputError.single('train', `not available yet (${args.join(' ')})`);
}
