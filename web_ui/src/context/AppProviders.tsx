// Every concern's provider, in the order they depend on each other: the video source, the live
// connection (told the video's size), the models (following the connection), pose in the browser
// (frames from the source to the connection) and the Bluetooth device (label and classes).
import type { ReactNode } from 'react';
import { BluetoothProvider } from './BluetoothContext';
import { LiveProvider } from './LiveContext';
import { ModelsProvider } from './ModelsContext';
import { PoseProvider } from './PoseContext';
import { SourceProvider } from './SourceContext';

export function AppProviders({ children }: { children: ReactNode }) {
  return (
    <SourceProvider>
      <LiveProvider>
        <ModelsProvider>
          <PoseProvider>
            <BluetoothProvider>{children}</BluetoothProvider>
          </PoseProvider>
        </ModelsProvider>
      </LiveProvider>
    </SourceProvider>
  );
}
