package com.example.model;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/** Custom writeObject: default fields, then primitives and objects a decoder cannot name. */
public class CustomData implements Serializable {
    private static final long serialVersionUID = 1L;

    private final String name;
    private transient List<String> tags;

    public CustomData(String name, List<String> tags) {
        this.name = name;
        this.tags = tags;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
        out.defaultWriteObject();
        out.writeInt(42);
        out.writeUTF("extra");
        out.writeObject(new ArrayList<>(tags));
        out.writeLong(7L);
        out.writeObject(new Date(1552129074569L));
    }

    @SuppressWarnings("unchecked")
    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
        in.defaultReadObject();
        in.readInt();
        in.readUTF();
        tags = (List<String>) in.readObject();
        in.readLong();
        in.readObject();
    }
}
