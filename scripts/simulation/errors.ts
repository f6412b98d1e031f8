export type SimulationErrorCode =
  'SIMULATION_OPTIONS_INVALID' | 'SIMULATION_REQUEST_FAILED' | 'SIMULATION_REQUEST_REFUSED';

/** What can go wrong generating or sending simulated traffic. */
export class SimulationError extends Error {
  constructor(
    message: string,
    readonly code: SimulationErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SimulationError';
  }
}
