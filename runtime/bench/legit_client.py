# a legitimate client from 127.0.0.2: one GET per 50 ms on a new connection; prints p50/p99/max latency and errors
# usage: legit_client.py PORT SECONDS [PID]  (with PID: stops early once that process has exited)
import os,socket,time,sys
port=int(sys.argv[1]); dur=float(sys.argv[2]); lat=[]; errs=0; t_end=time.time()+dur
watch=sys.argv[3] if len(sys.argv)>3 else None
while time.time()<t_end and (watch is None or os.path.exists('/proc/'+watch)):
    t0=time.time()
    try:
        s=socket.create_connection(('127.0.0.1',port),timeout=10,source_address=('127.0.0.2',0))
        s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        d=b''
        while True:
            c=s.recv(65536)
            if not c: break
            d+=c
        s.close()
        if not d.startswith(b"HTTP/1.1 200"): errs+=1
        else: lat.append((time.time()-t0)*1000)
    except Exception as e:
        errs+=1
    time.sleep(0.05)
lat.sort()
q=lambda p: lat[min(len(lat)-1,int(p*len(lat)))] if lat else float('nan')
print("requests=%d ok=%d errors=%d p50=%.2fms p99=%.2fms max=%.2fms"%(len(lat)+errs,len(lat),errs,q(0.5),q(0.99),lat[-1] if lat else float('nan')))
