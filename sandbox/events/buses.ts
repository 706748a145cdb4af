/** ListEventBuses and DescribeEventBus: the buses serverless.yml declares, and `default`. */
import { type Action, type BusRecord, requireBus } from './state.ts';
import { optionalString, page } from './wire.ts';

/** A bus as the API returns it; times in epoch seconds, as the JSON protocol sends timestamps. */
function busView(bus: BusRecord) {
  const seconds = bus.createdAt / 1000;
  return { Name: bus.name, Arn: bus.arn, CreationTime: seconds, LastModifiedTime: seconds };
}

export const listEventBuses: Action = (state, input) => {
  const prefix = optionalString(input, 'NamePrefix') ?? '';
  const buses = [...state.buses.values()].filter((b) => b.name.startsWith(prefix));
  const { items, NextToken } = page(buses, input);
  return { EventBuses: items.map(busView), ...(NextToken && { NextToken }) };
};

/** DescribeEventBus: `Name` is a name or an ARN, `default` when absent. */
export const describeEventBus: Action = (state, input) =>
  busView(requireBus(state, optionalString(input, 'Name'), 'name'));
