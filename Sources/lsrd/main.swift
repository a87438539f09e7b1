import LSRDaemon
