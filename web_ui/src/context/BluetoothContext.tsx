// The Bluetooth device that reacts to the classification: it is written the current label's
// bytes, and an analyzer event's bytes as it arrives. BluetoothPanel reads it.
import { createContext, useContext, type ReactNode } from 'react';
import { useBluetooth, type Bluetooth } from '../hooks/useBluetooth';
import { useLive } from './LiveContext';
import { useModelsView } from './ModelsContext';
import { required } from './required';

export const BluetoothContext = createContext<Bluetooth | null>(null);

export function useBluetoothDevice(): Bluetooth {
  return required(useContext(BluetoothContext), 'useBluetoothDevice', 'BluetoothProvider');
}

/** Inside LiveProvider and ModelsProvider: the label and the model's classes. */
export function BluetoothProvider({ children }: { children: ReactNode }) {
  const live = useLive();
  const label = live.lastResult?.label ?? null;
  const { classes } = useModelsView();
  const bluetooth = useBluetooth(label, classes, live.analysis);
  return <BluetoothContext value={bluetooth}>{children}</BluetoothContext>;
}
